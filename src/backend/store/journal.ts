import { createHash } from 'crypto';
import * as fs from 'fs';
import { writeAll, writeFileAtomic } from '../../common/fsync';
import type { AckMarker } from './ack';
import type { DescriptorReserve } from './descriptors';

/** One SQL statement with its bound parameters, as executed inside a write transaction. */
export type Statement = readonly [sql: string, params: readonly (string | number | null)[]];

/**
 * Journal format 2 chains the checksums: each record's checksum covers the previous one's, so a
 * record removed, repeated or moved is found like a damaged one. Format 1 journals (no `format` in
 * the header, written by earlier versions) checksum each record alone; they are still read.
 */
export const JOURNAL_FORMAT = 2;

/** How far a journal reached: its record count, its length in bytes and its last record's checksum. */
export interface JournalPosition {
  readonly records: number;
  readonly bytes: number;
  readonly last: string;
}

export interface JournalHeader {
  readonly generation: number;
  /** sha256 of snapshot-<generation>.sqlite, or null when the generation starts from an empty DB */
  readonly snapshotSha256: string | null;
  /** absent in format 1 */
  readonly format?: number;
  /**
   * Where the previous generation's journal ended when this generation was written: that journal
   * replays onto the previous snapshot to give this generation's snapshot, so it must still reach
   * this far. Null when this generation does not follow from the previous one.
   */
  readonly previous?: (JournalPosition & { readonly generation: number }) | null;
}

export interface JournalContents {
  readonly header: JournalHeader;
  /** the number of whole, valid records after the header */
  readonly records: number;
  /**
   * Record k (1-based) parsed. Records are parsed when replayed, not when the journal is read: a
   * journal that checkpoints failed to end holds 100,000s of them, and keeping them all parsed at
   * once took more memory and time (in the garbage collector) than replaying them.
   */
  transaction(k: number): Statement[];
  /** checksums[0] is the header's, checksums[k] record k's */
  readonly checksums: string[];
  /** ends[k]: the byte offset just after record k (ends[0] after the header) */
  readonly ends: number[];
  readonly totalBytes: number;
  /** the first record (1-based) that is not whole and valid, or null when every line is */
  readonly damagedAt: number | null;
  /** everything after the last valid record is one line without its newline (a torn write) */
  readonly tornTail: boolean;
}

export class JournalUnreadableError extends Error {}

export function positionOf(contents: JournalContents, records = contents.records): JournalPosition {
  return { records, bytes: contents.ends[records], last: contents.checksums[records] };
}

/**
 * The header of a format 2 journal is checksummed with this seed, so that an earlier version of ML
 * Lab finds no valid header and refuses to start (changing nothing) rather than read the chained
 * records as damage and start from the snapshot alone.
 */
const FORMAT_2_SEED = 'mllab journal format 2';

function checksum(prev: string, json: string | Uint8Array): string {
  return createHash('sha256').update(prev).update(json).digest('hex').slice(0, 16);
}

function encode(prev: string, value: unknown): { line: string; sum: string } {
  const json = JSON.stringify(value);
  const sum = checksum(prev, json);
  return { line: `${sum} ${json}\n`, sum };
}

const NEWLINE = 0x0a;
const SPACE = 0x20;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The JSON of the line that ends at `nl` and starts at `pos`, as text. */
const jsonOf = (data: Buffer, pos: number, nl: number) => data.toString('utf8', Math.min(pos + 17, nl), nl);

/**
 * Parses a journal file. Records are lines `<checksum> <json>`; the first record is the header.
 * Parsing stops at the first line that is not whole and valid; the caller decides, from what is
 * known to have been acknowledged, whether what follows is a torn unacknowledged write or damage.
 *
 * A record is valid when its checksum matches its bytes and its JSON is an array; the JSON is only
 * parsed when the record is replayed (a record that passes its checksum and then fails to parse
 * could only have been forged, and its replay fails with a message naming it).
 */
export function readJournal(file: string): JournalContents {
  const data = fs.readFileSync(file);
  const checksums: string[] = [];
  const ends: number[] = [];
  let header: JournalHeader | undefined;
  let chained = false;
  let damagedAt: number | null = null;
  let pos = 0;
  for (let i = 0; pos < data.length; i++) {
    const nl = data.indexOf(NEWLINE, pos);
    if (nl < 0) {
      damagedAt = i;
      break;
    }
    const stored = data.toString('latin1', pos, Math.min(pos + 16, nl));
    if (i === 0) {
      const json = jsonOf(data, pos, nl);
      let sum = checksum(FORMAT_2_SEED, json);
      if (stored !== sum) {
        sum = checksum('', json); // format 1
      }
      let h: JournalHeader | undefined;
      try {
        h = data[pos + 16] === SPACE && stored === sum ? (JSON.parse(json) as JournalHeader) : undefined;
      } catch {
        h = undefined;
      }
      if (!h || typeof h !== 'object' || typeof h.generation !== 'number') {
        break;
      }
      header = h;
      chained = (h.format ?? 1) >= 2;
      checksums.push(sum);
    } else {
      const sum = checksum(chained ? checksums[i - 1] : '', data.subarray(Math.min(pos + 17, nl), nl));
      if (
        nl - pos < 19 ||
        stored !== sum ||
        data[pos + 16] !== SPACE ||
        data[pos + 17] !== OPEN_BRACKET ||
        data[nl - 1] !== CLOSE_BRACKET
      ) {
        damagedAt = i;
        break;
      }
      checksums.push(sum);
    }
    pos = nl + 1;
    ends.push(pos);
  }
  if (header === undefined) {
    throw new JournalUnreadableError(data.length === 0 ? 'it is empty' : 'its header is damaged');
  }
  const records = ends.length - 1;
  return {
    header,
    records,
    transaction(k: number): Statement[] {
      if (!(k >= 1 && k <= records)) {
        throw new RangeError(`the journal has no record ${k}`);
      }
      const value: unknown = JSON.parse(jsonOf(data, ends[k - 1], ends[k] - 1));
      if (!Array.isArray(value)) {
        throw new Error('it is not a list of statements');
      }
      return value as Statement[];
    },
    checksums,
    ends,
    totalBytes: data.length,
    damagedAt,
    tornTail: damagedAt !== null && data.indexOf(NEWLINE, pos) < 0,
  };
}

/**
 * An append-only journal of committed transactions with group commit: each append is written at once
 * (so it survives a kill of the process) and its promise resolves after the data reached the disk
 * (so it survives a crash of the machine); concurrent appends share one fdatasync. After each
 * fdatasync the acknowledged position goes to the ack marker, before any write is acknowledged.
 */
export class JournalWriter {
  private fd: number;
  private bytes: number;
  private records: number;
  private last: string;
  private readonly chained: boolean;
  private syncing = false;
  private waiting: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private failure: Error | undefined;

  private constructor(
    readonly file: string,
    readonly header: JournalHeader,
    at: JournalPosition,
    private ack: AckMarker | undefined,
    fd?: number,
  ) {
    this.chained = (header.format ?? 1) >= 2;
    this.bytes = at.bytes;
    this.records = at.records;
    this.last = at.last;
    this.fd = fd ?? fs.openSync(file, 'a', 0o600);
  }

  /**
   * Creates a new journal with its header, durably: the header is the commit point of a checkpoint.
   * With `reserve` (a checkpoint) the file is written and kept open for appending with the store's
   * reserved descriptors, so a process out of descriptors can still write it.
   */
  static create(file: string, header: JournalHeader, ack?: AckMarker, reserve?: DescriptorReserve): JournalWriter {
    const { line, sum } = encode((header.format ?? 1) >= 2 ? FORMAT_2_SEED : '', header);
    const at = { records: 0, bytes: Buffer.byteLength(line), last: sum };
    if (reserve) {
      return new JournalWriter(file, header, at, ack, reserve.writeAtomic(file, Buffer.from(line), true));
    }
    writeFileAtomic(file, line);
    return new JournalWriter(file, header, at, ack);
  }

  /** `create` for a checkpoint in the background (see DescriptorReserve.writeAtomicInBackground). */
  static async createInBackground(
    file: string,
    header: JournalHeader,
    reserve: DescriptorReserve,
    abandoned: () => boolean,
  ): Promise<JournalWriter> {
    const { line, sum } = encode((header.format ?? 1) >= 2 ? FORMAT_2_SEED : '', header);
    const at = { records: 0, bytes: Buffer.byteLength(line), last: sum };
    const fd = await reserve.writeAtomicInBackground(file, Buffer.from(line), true, abandoned);
    return new JournalWriter(file, header, at, undefined, fd);
  }

  /** Opens a journal that was read whole up to `at` for appending, cutting off whatever follows. */
  static open(file: string, contents: JournalContents, ack?: AckMarker): JournalWriter {
    const at = positionOf(contents);
    if (contents.totalBytes !== at.bytes) {
      fs.truncateSync(file, at.bytes);
    }
    return new JournalWriter(file, contents.header, at, ack);
  }

  /** Reports acknowledged positions to `ack` from now on (none: this journal is no longer the newest). */
  withAck(ack: AckMarker | undefined): this {
    this.ack = ack;
    return this;
  }

  get size(): number {
    return this.bytes;
  }

  get position(): JournalPosition {
    return { records: this.records, bytes: this.bytes, last: this.last };
  }

  append(transaction: readonly Statement[]): Promise<void> {
    if (this.failure) {
      return Promise.reject(this.failure);
    }
    const { line, sum } = encode(this.chained ? this.last : '', transaction);
    const data = Buffer.from(line);
    try {
      writeAll(this.fd, data);
    } catch (e) {
      // a partial line (disk full) would corrupt the next record: cut the journal back to the last whole one
      fs.ftruncateSync(this.fd, this.bytes);
      throw e;
    }
    this.bytes += data.length;
    this.records++;
    this.last = sum;
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.flush();
    });
  }

  /** Resolves once every append so far is on disk (rejects if the disk refused one). */
  durable(): Promise<void> {
    if (this.failure) {
      return Promise.reject(this.failure);
    }
    if (!this.syncing && this.waiting.length === 0) {
      return Promise.resolve(); // every append was synced (flush runs whenever one waits)
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.flush();
    });
  }

  /** Closes a journal whose appends are all on disk (see `durable`), without another sync. */
  closeDurable(): void {
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  /** Flushes synchronously; pending appends resolve. */
  syncSync(): void {
    fs.fdatasyncSync(this.fd);
    this.acknowledge(this.position);
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

  private acknowledge(at: JournalPosition): void {
    this.ack?.write({ generation: this.header.generation, snapshotSha256: this.header.snapshotSha256, ...at });
  }

  private flush(): void {
    if (this.syncing || this.waiting.length === 0 || this.fd < 0) {
      return;
    }
    this.syncing = true;
    const batch = this.waiting;
    this.waiting = [];
    const at = this.position; // every append of the batch is in the file up to here
    fs.fdatasync(this.fd, (err) => {
      this.syncing = false;
      if (err && this.fd >= 0) {
        this.failure = new Error(`the journal ${this.file} could not be written to disk: ${err.message}`);
        batch.forEach((w) => w.reject(this.failure!));
      } else {
        if (this.fd >= 0) {
          this.acknowledge(at); // a closed journal is no longer the newest: its position is out of date
        }
        batch.forEach((w) => w.resolve());
      }
      this.flush();
    });
  }
}
