import { BadZipError } from './unsafe-zip-error';

const SIG_END = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_END = 0x06064b50;
const END_BYTES = 22;
const LOCATOR_BYTES = 20;
const ZIP64_END_BYTES = 56;
const MAX_COMMENT_BYTES = 0xffff;
const MAX_UINT16 = 0xffff;

export type ReadAt = (position: number, length: number) => Promise<Buffer>;

const multiPart = (what: string) =>
  new BadZipError(
    `The zip is one part of a multi-part (split or spanned) archive: ${what}. ML Lab unpacks single-file zips only: join the parts into one zip and try again.`,
  );

/**
 * Checks the end of central directory records (APPNOTE.TXT 4.3.14 to 4.3.16) before yauzl reads
 * them, refusing what makes the zip's content ambiguous, with a message that says what is wrong:
 * - a comment length that does not reach exactly to the end of the file (bytes appended to the
 *   zip, or a truncated one), which yauzl refuses too;
 * - any disk number other than 0, or fewer entries "on this disk" than in total: a part of a
 *   multi-part archive, whose other parts are missing (yauzl checks the first number only).
 * Like yauzl and Python's zipfile, the record is the last signature found searching backwards.
 */
export async function checkEndRecord(readAt: ReadAt, size: number): Promise<void> {
  const tailLength = Math.min(size, END_BYTES + MAX_COMMENT_BYTES);
  const tail = await readAt(size - tailLength, tailLength);
  let at = -1;
  for (let i = tail.length - END_BYTES; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_END) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    throw new BadZipError(
      'The file is not a zip, or it was cut short: it has no end of central directory record. Copy or download it again.',
    );
  }
  const end = tail.subarray(at);
  const commentLength = end.readUInt16LE(20);
  const following = end.length - END_BYTES;
  if (commentLength !== following) {
    throw new BadZipError(
      commentLength < following
        ? `The zip's end of central directory record says a ${commentLength}-byte comment ends the file, but ${following} bytes follow the record: something was appended to the zip, or the record is damaged. Make the zip again.`
        : `The zip's end of central directory record says a ${commentLength}-byte comment follows it, but the file ends ${following} bytes after it: the zip was cut short or is damaged. Copy or download it again.`,
    );
  }
  const disk = end.readUInt16LE(4);
  const directoryDisk = end.readUInt16LE(6);
  const onDisk = end.readUInt16LE(8);
  const total = end.readUInt16LE(10);
  const endOffset = size - end.length;
  const locator = endOffset >= LOCATOR_BYTES ? await readAt(endOffset - LOCATOR_BYTES, LOCATOR_BYTES) : Buffer.alloc(0);
  if (locator.length === LOCATOR_BYTES && locator.readUInt32LE(0) === SIG_ZIP64_LOCATOR) {
    // ZIP64: a 16-bit field of all ones defers to the ZIP64 record, any other value must be valid
    const classic = (value: number, expected: number) => value === MAX_UINT16 || value === expected;
    if (!classic(disk, 0) || !classic(directoryDisk, 0)) {
      throw multiPart(`its end record is on disk ${disk}, its central directory starts on disk ${directoryDisk}`);
    }
    const recordDisk = locator.readUInt32LE(4);
    const disks = locator.readUInt32LE(16);
    if (recordDisk !== 0 || disks > 1) {
      throw multiPart(`its ZIP64 locator counts ${disks} disks, the ZIP64 end record is on disk ${recordDisk}`);
    }
    const recordOffset = Number(locator.readBigUInt64LE(8));
    const record =
      recordOffset + ZIP64_END_BYTES <= endOffset - LOCATOR_BYTES
        ? await readAt(recordOffset, ZIP64_END_BYTES)
        : Buffer.alloc(0);
    if (record.length !== ZIP64_END_BYTES || record.readUInt32LE(0) !== SIG_ZIP64_END) {
      throw new BadZipError(
        'The zip has a ZIP64 end of central directory locator that points to no ZIP64 end record: the zip is damaged. Make it again.',
      );
    }
    const disk64 = record.readUInt32LE(16);
    const directoryDisk64 = record.readUInt32LE(20);
    const onDisk64 = record.readBigUInt64LE(24);
    const total64 = record.readBigUInt64LE(32);
    if (disk64 !== 0 || directoryDisk64 !== 0) {
      throw multiPart(`its end record is on disk ${disk64}, its central directory starts on disk ${directoryDisk64}`);
    }
    if (onDisk64 !== total64 || (onDisk !== MAX_UINT16 && total !== MAX_UINT16 && onDisk !== total)) {
      throw multiPart(`${onDisk64} of its ${total64} entries are on this disk`);
    }
    return;
  }
  if (disk !== 0 || directoryDisk !== 0) {
    throw multiPart(`its end record is on disk ${disk}, its central directory starts on disk ${directoryDisk}`);
  }
  if (onDisk !== total) {
    throw multiPart(`${onDisk} of its ${total} entries are on this disk`);
  }
}
