/**
 * An incremental parser of delimited text (CSV, TSV; RFC 4180): quoted fields may hold delimiters,
 * line breaks and doubled quotes; records end at LF, CRLF or CR. It is lenient the way spreadsheet
 * tools are: a quote inside an unquoted field is kept as text, text after a closing quote is appended,
 * an unterminated quote runs to the end of the input, and blank lines are skipped. Rows may have
 * different lengths (ragged rows are returned as they are).
 *
 * Written by hand because the head reader must stop after N records without reading further, and the
 * row counter (count.ts) must agree with it byte for byte; both follow the same state machine.
 */
export enum CsvState {
  FieldStart,
  Unquoted,
  Quoted,
  /** a quote inside a quoted field: it either closes the field or is the first of a doubled quote */
  QuoteInQuoted,
}

export class CsvParser {
  private state = CsvState.FieldStart;
  private field = '';
  private record: string[] = [];
  /** the current record has consumed at least one character (blank lines have none) */
  private content = false;
  /** the previous record ended with CR: a following LF belongs to it */
  private skipLf = false;

  constructor(readonly delimiter: string) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw new Error(`unusable delimiter ${JSON.stringify(delimiter)}`);
    }
  }

  /**
   * Parses `text`, calling `onRecord` for each complete record. When `onRecord` returns false the
   * parser stops at once and `push` returns false (the rest of `text` is dropped).
   */
  push(text: string, onRecord: (record: string[]) => boolean | void): boolean {
    const delimiter = this.delimiter;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const c = text[i];
      if (this.skipLf) {
        this.skipLf = false;
        if (c === '\n') {
          continue;
        }
      }
      if (this.state === CsvState.Quoted) {
        const close = text.indexOf('"', i);
        if (close < 0) {
          this.field += text.slice(i);
          return true;
        }
        this.field += text.slice(i, close);
        i = close;
        this.state = CsvState.QuoteInQuoted;
        continue;
      }
      if (this.state === CsvState.QuoteInQuoted) {
        if (c === '"') {
          this.field += '"';
          this.state = CsvState.Quoted;
          continue;
        }
        this.state = CsvState.Unquoted; // the field was closed; `c` is read as outside quotes below
      }
      if (c === delimiter) {
        this.record.push(this.field);
        this.field = '';
        this.content = true;
        this.state = CsvState.FieldStart;
      } else if (c === '\n' || c === '\r') {
        this.skipLf = c === '\r';
        if (!this.endRecord(onRecord)) {
          return false;
        }
      } else if (c === '"' && this.state === CsvState.FieldStart) {
        this.content = true;
        this.state = CsvState.Quoted;
      } else {
        // copy the run of ordinary characters at once
        let end = i + 1;
        while (end < n) {
          const d = text[end];
          if (d === delimiter || d === '\n' || d === '\r') {
            break;
          }
          end++;
        }
        this.field += text.slice(i, end);
        i = end - 1;
        this.content = true;
        this.state = CsvState.Unquoted;
      }
    }
    return true;
  }

  /** Ends the input: a last record without a final line break is delivered too. */
  end(onRecord: (record: string[]) => boolean | void): void {
    this.endRecord(onRecord);
    this.skipLf = false;
  }

  private endRecord(onRecord: (record: string[]) => boolean | void): boolean {
    const hadContent = this.content;
    const record = this.record;
    record.push(this.field);
    this.record = [];
    this.field = '';
    this.content = false;
    this.state = CsvState.FieldStart;
    return hadContent ? onRecord(record) !== false : true;
  }
}

/** Parses a whole string (for small inputs and tests). */
export function parseCsv(text: string, delimiter = ','): string[][] {
  const records: string[][] = [];
  const parser = new CsvParser(delimiter);
  parser.push(text, (r) => void records.push(r));
  parser.end((r) => void records.push(r));
  return records;
}
