/**
 * The packager refuses, before writing anything, the names an unpacker would refuse or that would
 * not come back as they are, naming the file and saying what to do; a dangling link says so and
 * names its target. Through the API these are 4xx answers with the same message.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { packFolder, PackagingRefusal } from '../../src/common/zip/pack';
import { FolderNames } from '../../src/common/zip/pack/source-names';
import { ApiClient } from '../../src/client/api-client';
import { MAX_ENTRY_DEPTH, MAX_ENTRY_PATH_BYTES } from '../../src/common/zip/entry-paths';
import { unzipSafe } from '../../src/common/zip/safe-unzip';
import { errorOf, raw, startBackend, tempHome, TEST_TOKEN } from './helpers';
import { pythonUnpack, readTree, tempDir, treeDifferences } from './zip-helpers';

/** packFolder must reject with a PackagingRefusal of `reason` matching `message`, writing nothing. */
async function refused(folder: string, out: string, reason: string, message: RegExp, options = {}): Promise<void> {
  await assert.rejects(packFolder(folder, out, options), (e: Error) => {
    assert.ok(e instanceof PackagingRefusal, `${e.name}: ${e.message}`);
    assert.strictEqual(e.reason, reason, e.message);
    assert.match(e.message, message);
    return true;
  });
  assert.ok(!fs.existsSync(out), 'no zip is left');
}

describe('zip packaging: names that could not be unpacked are refused, naming the file', function () {
  this.timeout(60000);
  let dir: string;
  let cleanup: () => void;
  let out: string;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    out = path.join(dir, 'out.zip');
  });
  afterEach(() => cleanup());

  /** A folder holding ok.txt and the files given (name -> content; a name ending in / is a folder). */
  const folderWith = (name: string, files: Array<string | Buffer>) => {
    const root = path.join(dir, name);
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'ok.txt'), 'ok');
    for (const f of files) {
      const full = Buffer.concat([Buffer.from(`${root}/`), Buffer.isBuffer(f) ? f : Buffer.from(f)]);
      if (full.toString().endsWith('/')) {
        fs.mkdirSync(full, { recursive: true });
      } else {
        fs.writeFileSync(full, 'x');
      }
    }
    return root;
  };

  it('refuses a backslash in a file or folder name: it would unpack as a folder', async () => {
    await refused(
      folderWith('bs', ['sub/', 'sub/a\\b.csv']),
      out,
      'bad_file_name',
      /bs\/sub\/a\\b\.csv cannot be packaged: its name contains a backslash \(\\\), which unpackers read as a folder separator.*Rename it without the backslash, then try again\./,
    );
    await refused(folderWith('bs-up', ['..\\evil.txt']), out, 'bad_file_name', /bs-up\/\.\.\\evil\.txt .*backslash/);
    await refused(folderWith('bs-dir', ['win\\dir/']), out, 'bad_file_name', /bs-dir\/win\\dir .*backslash/);
  });

  it('refuses a name that is not UTF-8, showing its bytes', async () => {
    await refused(
      folderWith('latin1', [Buffer.from('caf\xe9.csv', 'latin1')]),
      out,
      'bad_file_name',
      /latin1\/caf\\xe9\.csv cannot be packaged: its name is not valid UTF-8 \(it was written in another character set, such as Latin-1\).*Rename it/,
    );
    // U+FFFD itself is a valid character: packaged
    const replacement = folderWith('fffd', ['what\uFFFD.txt']);
    await packFolder(replacement, out);
    const dest = path.join(dir, 'fffd-unpacked');
    await unzipSafe(out, dest);
    assert.deepStrictEqual(treeDifferences(readTree(replacement), readTree(dest)), []);
  });

  it('refuses a top-level name starting with a letter and a colon (a Windows drive), not a nested one', async () => {
    await refused(
      folderWith('drive', ['c:data.csv']),
      out,
      'bad_file_name',
      /drive\/c:data\.csv cannot be packaged: its name starts with a letter and a colon, which unpackers read as a Windows drive/,
    );
    // elsewhere a colon is fine (timestamps): Linux and macOS hold it
    const nested = folderWith('nested', ['sub/', 'sub/c:data.csv', 'run 2024-01-02T03:04:05.csv', 'ab:c.txt']);
    await packFolder(nested, out);
    const dest = path.join(dir, 'nested-unpacked');
    await unzipSafe(out, dest);
    assert.deepStrictEqual(treeDifferences(readTree(nested), readTree(dest)), []);
    assert.deepStrictEqual(pythonUnpack(out, path.join(dir, 'nested-py')), {});
    assert.deepStrictEqual(treeDifferences(readTree(nested), readTree(path.join(dir, 'nested-py'))), []);
  });

  it('refuses names that differ only in case or Unicode form (macOS and Windows unpackers would collide)', async () => {
    await refused(
      folderWith('case', ['Data.csv', 'data.csv']),
      out,
      'bad_file_name',
      /case cannot be packaged: it holds both "(Data|data)\.csv" and "(data|Data)\.csv", names that differ only in case.*Rename one of them, then try again\./,
    );
    await refused(
      folderWith('case-dir', ['sub/', 'SUB']),
      out,
      'bad_file_name',
      /holds both "(sub|SUB)" and "(SUB|sub)"/,
    );
    // é composed (NFC) and decomposed (NFD, as macOS's HFS+ wrote names)
    await refused(
      folderWith('nfd', ['caf\u00e9.txt', 'cafe\u0301.txt']),
      out,
      'bad_file_name',
      /differ only in case \(or in Unicode form\)/,
    );
  });

  it(`refuses a path deeper than ${MAX_ENTRY_DEPTH} levels or longer than ${MAX_ENTRY_PATH_BYTES} bytes`, async () => {
    const deep = folderWith('deep', [`${'d/'.repeat(MAX_ENTRY_DEPTH)}`]);
    const deepest = path.join(deep, ...Array<string>(MAX_ENTRY_DEPTH).fill('d'));
    fs.writeFileSync(path.join(deepest, 'f.txt'), 'too deep');
    await refused(
      deep,
      out,
      'bad_file_name',
      /deep(\/d){256}\/f\.txt cannot be packaged: it is 257 levels deep inside the folder, more than the 256 levels a package may have\. Move it up/,
    );
    fs.renameSync(path.join(deepest, 'f.txt'), path.join(path.dirname(deepest), 'f.txt'));
    await packFolder(deep, out); // at the limit: a file and an empty folder 256 levels deep
    const dest = path.join(dir, 'deep-unpacked');
    await unzipSafe(out, dest);
    assert.deepStrictEqual(treeDifferences(readTree(deep), readTree(dest)), []);
    fs.rmSync(out);

    const part = 'p'.repeat(200);
    const long = folderWith('long', [`${Array<string>(16).fill(part).join('/')}/`]);
    await refused(
      long,
      out,
      'bad_file_name',
      /cannot be packaged: its path inside the folder is 3215 bytes long, more than the 3072 bytes a package entry may have\. Shorten the names of the folders above it/,
    );
  });

  it('checks each name whole, whatever the file system lets through', () => {
    const names = () => new FolderNames('/data', '', () => []);
    assert.throws(
      () => names().check('..'),
      /\/data\/\.\. cannot be packaged: its name is "\.\.", which cannot be unpacked/,
    );
    assert.throws(() => names().check('.'), /its name is "\.", which cannot be unpacked/);
    assert.throws(() => names().check('a\0b'), /its name is "a\\0b", which cannot be unpacked/);
    assert.throws(() => names().check('half-\uD800.txt'), /is not valid Unicode \(it holds half of a character\)/);
    assert.doesNotThrow(() => names().check('emoji-\u{1F600}.txt'));
    assert.throws(
      () => names().check('\u00e9'.repeat(128)),
      /is 256 bytes long in UTF-8, more than the 255 bytes a file name may have on Linux\. Shorten it/,
    );
    assert.doesNotThrow(() => names().check(`${'\u00e9'.repeat(127)}x`));
    assert.doesNotThrow(() => new FolderNames('/data/sub', 'sub/', () => []).check('c:x'));
  });

  it('refuses more files and folders than a package may hold, before writing', async () => {
    const root = folderWith('many', ['a/', 'a/1.txt', 'a/2.txt']);
    await refused(
      root,
      out,
      'too_many_files',
      /many holds more than 3 files and folders, the most a package may hold/,
      {
        maxEntries: 3,
      },
    );
    const result = await packFolder(root, out, { maxEntries: 4 });
    assert.strictEqual(result.files, 3);
  });

  it('says a dangling link is a dangling link, naming its target (and the end of a chain of links)', async () => {
    const root = folderWith('links', []);
    fs.symlinkSync('../gone.csv', path.join(root, 'train.csv'));
    await refused(
      root,
      out,
      'dangling_link',
      /links\/train\.csv is a dangling link: it points to \.\.\/gone\.csv, which does not exist\. Remove the link, or put back what it points to, then try again\./,
    );
    fs.rmSync(path.join(root, 'train.csv'));
    fs.symlinkSync('hop', path.join(root, 'first'));
    fs.symlinkSync(path.join(dir, 'missing', 'end.csv'), path.join(root, 'hop'));
    await assert.rejects(packFolder(root, out), (e: Error) => {
      assert.ok(e instanceof PackagingRefusal && e.reason === 'dangling_link', e.message);
      assert.match(
        e.message,
        /links\/(first is a dangling link: it points to hop, a link that leads to .*missing\/end\.csv, which does not exist|hop is a dangling link: it points to .*missing\/end\.csv, which does not exist)\./,
      );
      return true;
    });
  });
});

describe('datasets API: a folder that cannot be packaged is a 4xx naming the file', function () {
  this.timeout(60000);
  let backend: Backend;
  let client: ApiClient;
  let home: string;
  let root: string;
  let cleanup: () => void;

  beforeEach(async () => {
    ({ home, cleanup } = tempHome());
    root = path.dirname(home);
    backend = await startBackend(home);
    client = new ApiClient(backend.port, TEST_TOKEN);
    await client.setActiveProject((await client.createProject('Names')).id);
  });
  afterEach(async () => {
    client.dispose();
    await backend.stop('test done');
    cleanup();
  });

  it('answers 400 bad_file_name and 400 dangling_link, storing nothing', async () => {
    const data = path.join(root, 'data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'ok.csv'), 'a\n1\n');
    fs.writeFileSync(path.join(data, 'x\\y.csv'), 'a\n2\n');
    const post = () => raw(backend.port, 'POST', '/api/datasets', { body: JSON.stringify({ path: data }) });
    let res = await post();
    assert.strictEqual(res.status, 400, res.text);
    assert.strictEqual(errorOf(res).code, 'bad_file_name');
    assert.match(errorOf(res).message, /data\/x\\y\.csv cannot be packaged: its name contains a backslash.*Rename it/);

    fs.rmSync(path.join(data, 'x\\y.csv'));
    fs.symlinkSync(path.join(root, 'moved-away.csv'), path.join(data, 'link.csv'));
    res = await post();
    assert.strictEqual(res.status, 400, res.text);
    assert.strictEqual(errorOf(res).code, 'dangling_link');
    assert.match(
      errorOf(res).message,
      /data\/link\.csv is a dangling link: it points to .*moved-away\.csv, which does not exist/,
    );
    assert.doesNotMatch(errorOf(res).message, /check the path/, 'not taken for the folder itself missing');

    assert.deepStrictEqual(await client.listDatasets(), []);
    assert.deepStrictEqual(fs.existsSync(path.join(home, 'tmp')) ? fs.readdirSync(path.join(home, 'tmp')) : [], []);
    fs.rmSync(path.join(data, 'link.csv'));
    assert.strictEqual((await client.addDataset({ path: data })).fileCount, 1, 'added once the names are fixed');
  });
});
