import * as fs from 'fs';
import { CsvParser } from './parser';
import { delimiterForFileName, sniffDelimiter } from './sniff';

export interface HeadOptions {
  /** data rows to read after the header */
  readonly maxRows: number;
  /** the delimiter; default: from `fileName` (.tsv, .tab), else sniffed from the first chunk */
  readonly delimiter?: string;
  /** the original file name (stored content has none), used for the delimiter */
  readonly fileName?: string;
  /** bytes per read; default 64 KiB */
  readonly chunkSize?: number;
  /** stop reading after this many bytes even when fewer rows were found (a giant field); default 16 MiB */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
}

export interface CsvHead {
  readonly delimiter: string;
  /** the first record, [] for an empty file */
  readonly header: string[];
  /** at most `maxRows` records after the header, as they are (ragged rows keep their length) */
  readonly rows: string[][];
  /** bytes read from the file: a small prefix unless the file is small */
  readonly bytesRead: number;
  /** true when the whole file was read, so `rows` are all of its rows */
  readonly complete: boolean;
}

/**
 * Reads the header and the first rows of a CSV/TSV file, reading chunks only until enough records
 * are parsed: a file of many GB opens as fast as a small one. A UTF-8 byte order mark is dropped.
 */
export async function readCsvHead(file: string, options: HeadOptions): Promise<CsvHead> {
  const chunkSize = options.chunkSize ?? 64 * 1024;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const wanted = options.maxRows + 1;
  const buffer = Buffer.allocUnsafe(chunkSize);
  const decoder = new TextDecoder('utf-8'); // strips the BOM; replaces invalid bytes with U+FFFD
  const records: string[][] = [];
  const collect = (r: string[]) => {
    records.push(r);
    return records.length < wanted;
  };
  let parser: CsvParser | undefined;
  let bytesRead = 0;
  let complete = false;
  const handle = await fs.promises.open(file, 'r');
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const { bytesRead: n } = await handle.read(buffer, 0, chunkSize, null);
      bytesRead += n;
      const eof = n === 0;
      const text = eof ? decoder.decode() : decoder.decode(buffer.subarray(0, n), { stream: true });
      parser ??= new CsvParser(
        options.delimiter ?? delimiterForFileName(options.fileName ?? file) ?? sniffDelimiter(text, n < chunkSize),
      );
      if (!parser.push(text, collect)) {
        break;
      }
      if (eof) {
        parser.end(collect);
        complete = records.length <= wanted;
        break;
      }
      if (bytesRead >= maxBytes) {
        break;
      }
    }
  } finally {
    await handle.close();
  }
  return {
    delimiter: parser!.delimiter,
    header: records[0] ?? [],
    rows: records.slice(1, wanted),
    bytesRead,
    complete,
  };
}
