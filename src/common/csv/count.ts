import * as fs from 'fs';
import { CsvState } from './parser';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

export interface CountOptions {
  readonly delimiter: string;
  readonly signal?: AbortSignal;
  /** bytes per read; default 1 MiB */
  readonly chunkSize?: number;
  /** called after each chunk with the bytes read so far */
  readonly onProgress?: (bytesRead: number) => void;
}

export interface CountResult {
  /** records in the file, the header line included; blank lines are not records */
  readonly records: number;
  readonly bytesRead: number;
}

/**
 * Counts the records of a delimited file in one streaming pass, quote-aware (a line break inside a
 * quoted field does not end a record) and in agreement with CsvParser. Works on bytes: the
 * delimiter, quote, CR and LF are ASCII and never occur inside a multi-byte UTF-8 sequence.
 * Aborting `signal` stops the pass between two chunks with the signal's reason.
 */
export async function countCsvRecords(file: string, options: CountOptions): Promise<CountResult> {
  const delimiter = options.delimiter.charCodeAt(0);
  if (options.delimiter.length !== 1 || delimiter > 0x7f) {
    throw new Error(`the row counter needs a one-byte delimiter, not ${JSON.stringify(options.delimiter)}`);
  }
  const buffer = Buffer.allocUnsafe(options.chunkSize ?? 1024 * 1024);
  const handle = await fs.promises.open(file, 'r');
  let state = CsvState.FieldStart;
  let content = false;
  let skipLf = false;
  let records = 0;
  let bytesRead = 0;
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      const { bytesRead: n } = await handle.read(buffer, 0, buffer.length, null);
      if (n === 0) {
        break;
      }
      // a UTF-8 byte order mark is not content
      let i = bytesRead === 0 && n >= 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
      bytesRead += n;
      // Jump between the bytes that matter (quote, CR, LF) with indexOf, which scans natively: plain
      // bytes in between only make the record non-empty. Positions found are kept until passed.
      let nextQuote = -1;
      let nextLf = -1;
      let nextCr = -1;
      const find = (byte: number, from: number, cached: number) =>
        cached >= from ? cached : ((cached = buffer.indexOf(byte, from)), cached < 0 || cached >= n ? n : cached);
      while (i < n) {
        if (skipLf) {
          skipLf = false;
          if (buffer[i] === LF) {
            i++;
            continue;
          }
        }
        if (state === CsvState.Quoted) {
          nextQuote = find(QUOTE, i, nextQuote);
          if (nextQuote >= n) {
            i = n;
            break;
          }
          state = CsvState.QuoteInQuoted;
          i = nextQuote + 1;
          continue;
        }
        if (state === CsvState.QuoteInQuoted) {
          if (buffer[i] === QUOTE) {
            state = CsvState.Quoted;
            i++;
            continue;
          }
          state = CsvState.Unquoted;
        }
        nextQuote = find(QUOTE, i, nextQuote);
        nextLf = find(LF, i, nextLf);
        nextCr = find(CR, i, nextCr);
        const event = Math.min(nextQuote, nextLf, nextCr);
        if (event > i) {
          content = true;
          state = buffer[event - 1] === delimiter ? CsvState.FieldStart : CsvState.Unquoted;
        }
        if (event >= n) {
          i = n;
          break;
        }
        const b = buffer[event];
        if (b === QUOTE) {
          state = state === CsvState.FieldStart ? CsvState.Quoted : CsvState.Unquoted;
          content = true;
        } else {
          skipLf = b === CR;
          if (content) {
            records++;
          }
          content = false;
          state = CsvState.FieldStart;
        }
        i = event + 1;
      }
      options.onProgress?.(bytesRead);
    }
  } finally {
    await handle.close();
  }
  return { records: records + (content ? 1 : 0), bytesRead };
}
