import { createHash } from 'crypto';
import * as fs from 'fs';
import { writeAll, writeFileAtomic } from '../../common/fsync';

/** One SQL statement with its bound parameters, as executed inside a write transaction. */
export type Statement = readonly [sql: string, params: readonly (string | number | null)[]];

export interface JournalHeader {
  readonly generation: number;
  /** sha256 of snapshot-<generation>.sqlite, or null when the generation starts from an empty DB */
  readonly snapshotSha256: string | null;
}

export interface JournalContents {
  readonly header: JournalHeader;
  readonly transactions: Statement[][];
  /** bytes at the end that did not form a complete record (a write torn by a crash) */
  readonly tornTailBytes: number;
  /** a complete record whose checksum did not match: replay stopped before it */
  readonly corruptAt: number | null;
}

function checksum(json: string): string {
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}

function encode(value: unknown): string {
  const json = JSON.stringify(value);
  return `${checksum(json)} ${json}\n`;
}

/**
 * Parses a journal file. Records are lines `<checksum> <json>`; the first record is the header. A last
 * line without its newline is a torn write and is ignored; a checksum mismatch stops the replay there.
 */
export function readJournal(file: string): JournalContents {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  let header: JournalHeader | undefined;
  const transactions: Statement[][] = [];
  let corruptAt: number | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const space = line.indexOf(' ');
    const json = line.slice(space + 1);
    if (space !== 16 || checksum(json) !== line.slice(0, 16)) {
      corruptAt = i;
      break;
    }
    const value: unknown = JSON.parse(json);
    if (i === 0) {
      header = value as JournalHeader;
    } else {
      transactions.push(value as Statement[]);
    }
  }
  if (header === undefined || typeof header.generation !== 'number') {
    throw new Error(`journal ${file} has no valid header`);
  }
  return { header, transactions, tornTailBytes: Buffer.byteLength(tail), corruptAt };
}

/**
 * An append-only journal of committed transactions with group commit: each append is written at once
 * (so it survives a kill of the process) and its promise resolves after the data reached the disk
 * (so it survives a crash of the machine); concurrent appends share one fdatasync.
 */
export class JournalWriter {
  private fd: number;
  private bytesWritten = 0;
  private recordsWritten = 0;
  private syncing = false;
  private waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private failure: Error | undefined;

  private constructor(
    readonly file: string,
    fd: number,
  ) {
    this.fd = fd;
    this.bytesWritten = fs.fstatSync(fd).size;
  }

  /** Creates a new journal with its header, durably: the header is the commit point of a checkpoint. */
  static create(file: string, header: JournalHeader): JournalWriter {
    writeFileAtomic(file, encode(header));
    return JournalWriter.open(file);
  }

  /** Opens an existing journal for appending, cutting off a torn tail first. */
  static open(file: string, validLength?: number): JournalWriter {
    if (validLength !== undefined) {
      fs.truncateSync(file, validLength);
    }
    return new JournalWriter(file, fs.openSync(file, 'a', 0o600));
  }

  get size(): number {
    return this.bytesWritten;
  }

  get records(): number {
    return this.recordsWritten;
  }

  append(transaction: readonly Statement[]): Promise<void> {
    if (this.failure) {
      return Promise.reject(this.failure);
    }
    const line = Buffer.from(encode(transaction));
    try {
      writeAll(this.fd, line);
    } catch (e) {
      // a partial line (disk full) would corrupt the next record: cut the journal back to the last whole one
      fs.ftruncateSync(this.fd, this.bytesWritten);
      throw e;
    }
    this.bytesWritten += line.length;
    this.recordsWritten++;
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.flush();
    });
  }

  /** Flushes synchronously; pending appends resolve. */
  syncSync(): void {
    fs.fdatasyncSync(this.fd);
    const waiting = this.waiting;
    this.waiting = [];
    waiting.forEach((w) => w.resolve());
  }

  /** Flushes and closes synchronously; pending appends resolve. */
  closeSync(): void {
    this.syncSync();
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  private flush(): void {
    if (this.syncing || this.waiting.length === 0 || this.fd < 0) {
      return;
    }
    this.syncing = true;
    const batch = this.waiting;
    this.waiting = [];
    fs.fdatasync(this.fd, (err) => {
      this.syncing = false;
      if (err && this.fd >= 0) {
        this.failure = new Error(`the journal ${this.file} could not be written to disk: ${err.message}`);
        batch.forEach((w) => w.reject(this.failure!));
      } else {
        batch.forEach((w) => w.resolve());
      }
      this.flush();
    });
  }
}
