import type { Entry } from 'yauzl';
import * as yauzl from 'yauzl';
import { BadZipError } from './unsafe-zip-error';

const FLAG_UTF8 = 0x800;
const UNICODE_PATH_FIELD = 0x7075;
const HOST_UNIX = 3;
const HOST_MACOS = 19;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8, or undefined for bytes that are not UTF-8. */
function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

let crcTable: Uint32Array | undefined;

/** CRC-32 of a name: a few bytes, so the plain table version is enough. */
export function nameCrc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) {
        c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * The Info-ZIP Unicode Path extra field (0x7075): version 1, the CRC-32 of the header's name, the
 * name in UTF-8. Used only when the version is 1, the CRC matches the name it stands for (a tool
 * that renamed the entry without updating the field leaves a stale one) and the name is UTF-8.
 */
function unicodePath(entry: Entry): string | undefined {
  for (const field of entry.extraFields) {
    const data = field.data;
    if (field.id !== UNICODE_PATH_FIELD || data.length < 6 || data[0] !== 1) {
      continue;
    }
    if (data.readUInt32LE(1) === nameCrc32(entry.fileNameRaw)) {
      return decodeUtf8(data.subarray(5));
    }
  }
  return undefined;
}

/** CP437, the zip default, as yauzl decodes it (its table maps control bytes to glyphs, NUL to NUL). */
function cp437(bytes: Buffer): string {
  return yauzl.getFileNameLowLevel(0, bytes, [], true);
}

/**
 * An entry's name as Info-ZIP's unzip reads it, in this order:
 * 1. the UTF-8 flag (bit 11) set: the name is UTF-8 (7-Zip, Windows 10+, Python, ML Lab);
 *    bytes that are not UTF-8 are refused rather than turned into replacement characters;
 * 2. a valid Unicode Path extra field (Info-ZIP zip on systems whose charset is not UTF-8);
 * 3. made on unix or macOS and valid UTF-8: UTF-8 (macOS's Archive Utility and Info-ZIP on Linux
 *    write UTF-8 names without the flag; unzip there takes the bytes as they are);
 * 4. otherwise CP437 (Windows compressed folders, MS-DOS tools).
 * Both unpackers (this one and the Python client's) apply the same rules.
 */
export function entryName(entry: Entry): string {
  const raw = entry.fileNameRaw;
  if ((entry.generalPurposeBitFlag & FLAG_UTF8) !== 0) {
    const name = decodeUtf8(raw);
    if (name === undefined) {
      throw new BadZipError(
        `The zip entry "${cp437(raw)}" is marked as having a UTF-8 name, but the name is not valid UTF-8: the zip is damaged. Make it again with a zip tool that writes UTF-8 names.`,
      );
    }
    return name;
  }
  const unicode = unicodePath(entry);
  if (unicode !== undefined) {
    return unicode;
  }
  const host = entry.versionMadeBy >> 8;
  if (host === HOST_UNIX || host === HOST_MACOS) {
    const name = decodeUtf8(raw);
    if (name !== undefined) {
      return name;
    }
  }
  return cp437(raw);
}

/** A name with `\` read as `/`, as entry-paths.ts reads it: the form two names are compared in. */
export function sameSeparators(raw: Buffer): Buffer {
  return raw.includes(0x5c) ? Buffer.from(raw.map((b) => (b === 0x5c ? 0x2f : b))) : raw;
}
