/**
 * Encoders for the records of a zip file (PKWARE APPNOTE 6.3.x): local headers, data descriptors,
 * central directory headers and the end records, with ZIP64 where a field overflows.
 * Pure functions of their inputs, so the > 4 GiB cases are tested without writing 4 GiB.
 */

export const MAX_UINT16 = 0xffff;
export const MAX_UINT32 = 0xffffffff;

export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;

const SIG_LOCAL = 0x04034b50;
const SIG_DESCRIPTOR = 0x08074b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_ZIP64_END = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_END = 0x06054b50;

const FLAG_DATA_DESCRIPTOR = 0x0008;
const FLAG_UTF8 = 0x0800;
const EXTRA_ZIP64 = 0x0001;
const EXTRA_TIMESTAMP = 0x5455;
/** made by: host 3 (unix, so external attributes hold st_mode), spec version 6.3 */
const VERSION_MADE_BY = (3 << 8) | 63;
const S_IFDIR = 0o040000;
const MSDOS_DIRECTORY = 0x10;

export interface EntryFields {
  /** UTF-8 name, '/' separators, directories end with '/' */
  readonly name: Buffer;
  readonly method: number;
  readonly isDirectory: boolean;
  readonly mtime: Date;
  /** unix st_mode (type and permission bits) */
  readonly mode: number;
}

export interface EntrySizes {
  readonly crc: number;
  readonly size: number;
  readonly compressedSize: number;
}

/** DOS date and time (local time, 2-second resolution), clamped to the range the format can hold. */
export function dosDateTime(date: Date): { date: number; time: number } {
  const year = date.getFullYear();
  if (Number.isNaN(year) || year < 1980) {
    return { date: (1 << 5) | 1, time: 0 };
  }
  if (year > 2107) {
    return { date: (127 << 9) | (12 << 5) | 31, time: (23 << 11) | (59 << 5) | 29 };
  }
  return {
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1),
  };
}

function versionNeeded(fields: EntryFields, zip64: boolean): number {
  if (zip64) {
    return 45;
  }
  return fields.method === METHOD_DEFLATED || fields.isDirectory ? 20 : 10;
}

function unixSeconds(date: Date): number {
  const seconds = Math.floor(date.getTime() / 1000);
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), 0x7fffffff) : 0;
}

/** The extended timestamp field (0x5455): modification time in UTC seconds, which DOS time lacks. */
function timestampExtra(mtime: Date): Buffer {
  const b = Buffer.alloc(9);
  b.writeUInt16LE(EXTRA_TIMESTAMP, 0);
  b.writeUInt16LE(5, 2);
  b.writeUInt8(1, 4); // flags: modification time present
  b.writeUInt32LE(unixSeconds(mtime), 5);
  return b;
}

function zip64Extra(values: readonly number[]): Buffer {
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(EXTRA_ZIP64, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}

function checkName(name: Buffer): void {
  if (name.length > MAX_UINT16) {
    throw new Error(`A path inside the folder is too long for a zip (${name.length} bytes, at most 65535).`);
  }
}

/**
 * A local file header. With `sizes` undefined the sizes follow the data in a data descriptor
 * (flag bit 3). `zip64` gives the header a ZIP64 field, required when either size may reach 4 GiB;
 * the data descriptor of such an entry then holds 8-byte sizes.
 */
export function localHeader(fields: EntryFields, sizes: EntrySizes | undefined, zip64: boolean): Buffer {
  checkName(fields.name);
  const { date, time } = dosDateTime(fields.mtime);
  const extras = [timestampExtra(fields.mtime)];
  if (zip64) {
    extras.unshift(zip64Extra([sizes?.size ?? 0, sizes?.compressedSize ?? 0]));
  }
  const extra = Buffer.concat(extras);
  const b = Buffer.alloc(30);
  b.writeUInt32LE(SIG_LOCAL, 0);
  b.writeUInt16LE(versionNeeded(fields, zip64), 4);
  b.writeUInt16LE(FLAG_UTF8 | (sizes ? 0 : FLAG_DATA_DESCRIPTOR), 6);
  b.writeUInt16LE(fields.method, 8);
  b.writeUInt16LE(time, 10);
  b.writeUInt16LE(date, 12);
  b.writeUInt32LE(sizes?.crc ?? 0, 14);
  b.writeUInt32LE(zip64 ? MAX_UINT32 : (sizes?.compressedSize ?? 0), 18);
  b.writeUInt32LE(zip64 ? MAX_UINT32 : (sizes?.size ?? 0), 22);
  b.writeUInt16LE(fields.name.length, 26);
  b.writeUInt16LE(extra.length, 28);
  return Buffer.concat([b, fields.name, extra]);
}

/** The data descriptor written after the data of an entry whose local header had no sizes. */
export function dataDescriptor(sizes: EntrySizes, zip64: boolean): Buffer {
  if (!zip64 && (sizes.size >= MAX_UINT32 || sizes.compressedSize >= MAX_UINT32)) {
    throw new Error('internal error: a data descriptor of 4 GiB or more needs ZIP64');
  }
  const b = Buffer.alloc(zip64 ? 24 : 16);
  b.writeUInt32LE(SIG_DESCRIPTOR, 0);
  b.writeUInt32LE(sizes.crc, 4);
  if (zip64) {
    b.writeBigUInt64LE(BigInt(sizes.compressedSize), 8);
    b.writeBigUInt64LE(BigInt(sizes.size), 16);
  } else {
    b.writeUInt32LE(sizes.compressedSize, 8);
    b.writeUInt32LE(sizes.size, 12);
  }
  return b;
}

/** unix st_mode in the high 16 bits; the MS-DOS directory bit too, for readers that only look there */
export function externalAttributes(fields: EntryFields): number {
  const mode = fields.isDirectory ? (fields.mode & 0o7777) | S_IFDIR : fields.mode & 0xffff;
  return ((mode << 16) | (fields.isDirectory ? MSDOS_DIRECTORY : 0)) >>> 0;
}

/**
 * A central directory header. Each of size, compressed size and local header offset that does not
 * fit 32 bits (or every one, with `forceZip64`, which tests use) moves to the ZIP64 extra field.
 */
export function centralHeader(
  fields: EntryFields,
  sizes: EntrySizes,
  offset: number,
  options: { dataDescriptor?: boolean; forceZip64?: boolean } = {},
): Buffer {
  checkName(fields.name);
  const force = options.forceZip64 === true;
  const big = (v: number) => force || v >= MAX_UINT32;
  const overflow = [sizes.size, sizes.compressedSize, offset].filter(big);
  const zip64 = overflow.length > 0;
  const { date, time } = dosDateTime(fields.mtime);
  const extras = [timestampExtra(fields.mtime)];
  if (zip64) {
    extras.unshift(zip64Extra(overflow));
  }
  const extra = Buffer.concat(extras);
  const b = Buffer.alloc(46);
  b.writeUInt32LE(SIG_CENTRAL, 0);
  b.writeUInt16LE(VERSION_MADE_BY, 4);
  b.writeUInt16LE(versionNeeded(fields, zip64), 6);
  b.writeUInt16LE(FLAG_UTF8 | (options.dataDescriptor ? FLAG_DATA_DESCRIPTOR : 0), 8);
  b.writeUInt16LE(fields.method, 10);
  b.writeUInt16LE(time, 12);
  b.writeUInt16LE(date, 14);
  b.writeUInt32LE(sizes.crc, 16);
  b.writeUInt32LE(big(sizes.compressedSize) ? MAX_UINT32 : sizes.compressedSize, 20);
  b.writeUInt32LE(big(sizes.size) ? MAX_UINT32 : sizes.size, 24);
  b.writeUInt16LE(fields.name.length, 28);
  b.writeUInt16LE(extra.length, 30);
  b.writeUInt16LE(0, 32); // comment length
  b.writeUInt16LE(0, 34); // disk number
  b.writeUInt16LE(0, 36); // internal attributes
  b.writeUInt32LE(externalAttributes(fields), 38);
  b.writeUInt32LE(big(offset) ? MAX_UINT32 : offset, 42);
  return Buffer.concat([b, fields.name, extra]);
}

export interface DirectoryEnd {
  readonly entries: number;
  /** offset of the central directory, which is also where it ends the entries' data */
  readonly offset: number;
  readonly size: number;
}

/**
 * The end records: the ZIP64 end of central directory record and locator when the entry count,
 * the directory's size or its offset overflows (or `forceZip64`), then the classic end record.
 */
export function endOfCentralDirectory(end: DirectoryEnd, options: { forceZip64?: boolean } = {}): Buffer {
  const zip64 =
    options.forceZip64 === true || end.entries >= MAX_UINT16 || end.size >= MAX_UINT32 || end.offset >= MAX_UINT32;
  const parts: Buffer[] = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(SIG_ZIP64_END, 0);
    record.writeBigUInt64LE(44n, 4); // size of the rest of this record
    record.writeUInt16LE(VERSION_MADE_BY, 12);
    record.writeUInt16LE(45, 14);
    record.writeUInt32LE(0, 16); // this disk
    record.writeUInt32LE(0, 20); // disk of the central directory
    record.writeBigUInt64LE(BigInt(end.entries), 24);
    record.writeBigUInt64LE(BigInt(end.entries), 32);
    record.writeBigUInt64LE(BigInt(end.size), 40);
    record.writeBigUInt64LE(BigInt(end.offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(SIG_ZIP64_LOCATOR, 0);
    locator.writeUInt32LE(0, 4); // disk of the ZIP64 end record
    locator.writeBigUInt64LE(BigInt(end.offset + end.size), 8);
    locator.writeUInt32LE(1, 16); // total disks
    parts.push(record, locator);
  }
  // 0xffff tells readers to look for the ZIP64 record even when the count itself would fit
  const count = zip64 ? MAX_UINT16 : end.entries;
  const b = Buffer.alloc(22);
  b.writeUInt32LE(SIG_END, 0);
  b.writeUInt16LE(0, 4);
  b.writeUInt16LE(0, 6);
  b.writeUInt16LE(count, 8);
  b.writeUInt16LE(count, 10);
  b.writeUInt32LE(Math.min(end.size, MAX_UINT32), 12);
  b.writeUInt32LE(Math.min(end.offset, MAX_UINT32), 16);
  b.writeUInt16LE(0, 20);
  parts.push(b);
  return Buffer.concat(parts);
}
