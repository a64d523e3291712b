import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { countCsvRecords } from '../../src/common/csv/count';
import { readCsvHead } from '../../src/common/csv/head';
import { parseCsv } from '../../src/common/csv/parser';
import { sniffDelimiter } from '../../src/common/csv/sniff';

describe('CSV/TSV reading', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-csv-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  const write = (content: string | Buffer, ext = '.csv'): string => {
    const file = path.join(dir, `f${n++}${ext}`);
    fs.writeFileSync(file, content);
    return file;
  };
  const count = async (file: string, delimiter = ',') => (await countCsvRecords(file, { delimiter })).records;

  describe('parser', () => {
    it('reads quoted fields holding delimiters, line breaks and doubled quotes', () => {
      const text = 'name,quote\n"Smith, J.","He said ""hi""\nand left"\nplain,"" \n';
      assert.deepStrictEqual(parseCsv(text), [
        ['name', 'quote'],
        ['Smith, J.', 'He said "hi"\nand left'],
        ['plain', ' '],
      ]);
    });

    it('accepts CRLF, CR and LF line ends and skips blank lines', () => {
      assert.deepStrictEqual(parseCsv('a,b\r\n1,2\r\n\r\n3,4\r5,6\n\n'), [
        ['a', 'b'],
        ['1', '2'],
        ['3', '4'],
        ['5', '6'],
      ]);
    });

    it('keeps ragged rows as they are and empty fields as empty strings', () => {
      assert.deepStrictEqual(parseCsv('a,b,c\n1\n1,2,3,4\n,,\n'), [
        ['a', 'b', 'c'],
        ['1'],
        ['1', '2', '3', '4'],
        ['', '', ''],
      ]);
    });

    it('is lenient with stray quotes and an unterminated quote', () => {
      assert.deepStrictEqual(parseCsv('ab"c,"x"y,z\n"open,field\nmore'), [['ab"c', 'xy', 'z'], ['open,field\nmore']]);
    });

    it('gives the same records however the input is split into chunks', async () => {
      const text = 'h1,h2\r\n"a\r\nb","c""d"\r\n\r\ne,\r\n"",f';
      const whole = parseCsv(text);
      for (const size of [1, 2, 3, 5]) {
        const file = write(text);
        const head = await readCsvHead(file, { maxRows: 100, chunkSize: size, delimiter: ',' });
        assert.deepStrictEqual([head.header, ...head.rows], whole, `chunks of ${size}`);
      }
    });
  });

  describe('delimiter', () => {
    it('sniffs comma, tab, semicolon and pipe, ignoring quoted text', () => {
      assert.strictEqual(sniffDelimiter('a,b,c\n1,2,3\n'), ',');
      assert.strictEqual(sniffDelimiter('a\tb\n1\t2\n'), '\t');
      assert.strictEqual(sniffDelimiter('a;b;c\n1,5;2,5;3\n'), ';');
      assert.strictEqual(sniffDelimiter('a|b\n"x,y,z"|2\n'), '|');
      assert.strictEqual(sniffDelimiter('single column\nvalue\n'), ',');
    });

    it('takes TSV from the file name', async () => {
      const file = write('x,y\tz\n1,2\t3\n', '.tsv');
      const head = await readCsvHead(file, { maxRows: 10 });
      assert.strictEqual(head.delimiter, '\t');
      assert.deepStrictEqual(head.header, ['x,y', 'z']);
      assert.deepStrictEqual(head.rows, [['1,2', '3']]);
    });
  });

  describe('head', () => {
    it('strips a UTF-8 byte order mark', async () => {
      const file = write(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('"id",név\n1,Ödön\n')]));
      const head = await readCsvHead(file, { maxRows: 10 });
      assert.deepStrictEqual(head.header, ['id', 'név']);
      assert.deepStrictEqual(head.rows, [['1', 'Ödön']]);
      assert.strictEqual(await count(file), 2);
    });

    it('reads a header-only file and an empty file', async () => {
      const headerOnly = await readCsvHead(write('a,b,c'), { maxRows: 10 });
      assert.deepStrictEqual(headerOnly.header, ['a', 'b', 'c']);
      assert.deepStrictEqual(headerOnly.rows, []);
      assert.ok(headerOnly.complete);
      const empty = await readCsvHead(write(''), { maxRows: 10 });
      assert.deepStrictEqual(empty.header, []);
      assert.deepStrictEqual(empty.rows, []);
      assert.ok(empty.complete);
      assert.strictEqual(await count(write('')), 0);
      assert.strictEqual(await count(write('a,b,c')), 1);
    });

    it('reads only a small prefix of a big file', async () => {
      const row = 'x'.repeat(90) + ',"quoted, with comma"\n';
      const file = path.join(dir, 'big.csv');
      const fd = fs.openSync(file, 'w');
      const block = 'id,text\n' + row.repeat(20_000);
      for (let i = 0; i < 25; i++) {
        fs.writeSync(fd, i === 0 ? block : block.slice(8));
      }
      fs.closeSync(fd);
      const size = fs.statSync(file).size;
      assert.ok(size > 50 * 1024 * 1024, `${size} bytes`);
      const head = await readCsvHead(file, { maxRows: 200, chunkSize: 16 * 1024 });
      assert.strictEqual(head.rows.length, 200);
      assert.deepStrictEqual(head.rows[199], ['x'.repeat(90), 'quoted, with comma']);
      assert.ok(!head.complete);
      assert.ok(head.bytesRead <= 32 * 1024, `read ${head.bytesRead} of ${size} bytes`);
      assert.strictEqual(await count(file), 1 + 25 * 20_000);
    });

    it('stops at maxBytes when a field never ends', async () => {
      const file = write('a,b\n"' + 'y'.repeat(300_000));
      const head = await readCsvHead(file, { maxRows: 10, chunkSize: 4096, maxBytes: 64 * 1024 });
      assert.deepStrictEqual(head.header, ['a', 'b']);
      assert.deepStrictEqual(head.rows, []);
      assert.ok(!head.complete);
      assert.ok(head.bytesRead <= 64 * 1024 + 4096);
    });
  });

  describe('row counter', () => {
    it('counts records with quoted line breaks, CRLF and a missing final line break', async () => {
      assert.strictEqual(await count(write('a,b\n"1\n2",3\n4,"5\r\n6"')), 3);
      assert.strictEqual(await count(write('a,b\r\n1,2\r\n')), 2);
      assert.strictEqual(await count(write('a\n\n\nb\n\r\n')), 2);
      assert.strictEqual(await count(write('a\tb\n"x\ty"\t2\n', '.tsv'), '\t'), 2);
    });

    it('agrees with the parser on random input, in chunks of any size', async () => {
      const alphabet = ['a', 'b', ',', '"', '""', '\n', '\r\n', '\r', ' ', 'é', '😀'];
      let seed = 7;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let round = 0; round < 300; round++) {
        const text = Array.from(
          { length: Math.floor(random() * 60) },
          () => alphabet[Math.floor(random() * alphabet.length)],
        ).join('');
        const file = write(text);
        const expected = parseCsv(text).length;
        const chunkSize = 1 + Math.floor(random() * 8);
        const { records } = await countCsvRecords(file, { delimiter: ',', chunkSize });
        assert.strictEqual(records, expected, JSON.stringify(text));
        const head = await readCsvHead(file, { maxRows: 1000, chunkSize, delimiter: ',' });
        assert.deepStrictEqual([head.header, ...head.rows].slice(0, expected), parseCsv(text), JSON.stringify(text));
      }
    });

    it('stops when cancelled and reports the progress so far', async () => {
      const file = write('a,b\n'.repeat(100_000));
      const controller = new AbortController();
      const seen: number[] = [];
      await assert.rejects(
        countCsvRecords(file, {
          delimiter: ',',
          chunkSize: 4096,
          signal: controller.signal,
          onProgress: (bytes) => {
            seen.push(bytes);
            if (seen.length === 3) {
              controller.abort(new Error('stop counting'));
            }
          },
        }),
        /stop counting/,
      );
      assert.deepStrictEqual(seen, [4096, 8192, 12288]);
    });
  });
});
