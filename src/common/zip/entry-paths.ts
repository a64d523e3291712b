import { UnsafeZipError } from './unsafe-zip-error';

/** An entry's place in the destination: its path components, all plain names. */
export interface EntryPath {
  readonly parts: readonly string[];
  readonly isDirectory: boolean;
}

/** Longest file or folder name, in UTF-8 bytes: what Linux file systems hold (NAME_MAX). */
export const MAX_NAME_PART_BYTES = 255;
/**
 * Longest entry path, in UTF-8 bytes: leaves 1 KiB of Linux's 4096-byte PATH_MAX for the folder a
 * package is unpacked into (a lab home's cache).
 */
export const MAX_ENTRY_PATH_BYTES = 3072;
/** Most components of an entry path: deeper than this is not a data set, and is slow to remove. */
export const MAX_ENTRY_DEPTH = 256;

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
const WINDOWS_FORBIDDEN = '<>:"|?*';

/** Characters Windows does not allow in a file name: the ones above and control characters. */
function hasWindowsForbidden(part: string): boolean {
  return [...part].some((c) => WINDOWS_FORBIDDEN.includes(c) || c.charCodeAt(0) < 32);
}

/** Why these components cannot be unpacked on any system, or undefined when they can. */
export function pathLimitProblem(parts: readonly string[]): string | undefined {
  if (parts.length > MAX_ENTRY_DEPTH) {
    return `is nested too deeply (${parts.length} levels, more than the limit of ${MAX_ENTRY_DEPTH})`;
  }
  // a UTF-16 code unit is at most 3 bytes of UTF-8: bytes are counted only for names that may be long
  let units = parts.length - 1;
  for (const part of parts) {
    units += part.length;
    const bytes = part.length * 3 > MAX_NAME_PART_BYTES ? Buffer.byteLength(part) : 0;
    if (bytes > MAX_NAME_PART_BYTES) {
      return `has a name of ${bytes} bytes ("${[...part].slice(0, 24).join('')}..."), longer than the ${MAX_NAME_PART_BYTES} bytes a file system holds`;
    }
  }
  const total = units * 3 > MAX_ENTRY_PATH_BYTES ? Buffer.byteLength(parts.join('/')) : 0;
  if (total > MAX_ENTRY_PATH_BYTES) {
    return `has a path of ${total} bytes, longer than the limit of ${MAX_ENTRY_PATH_BYTES}`;
  }
  return undefined;
}

/**
 * Checks an entry name and splits it into components. A backslash counts as a separator (as on
 * Windows, where zips made by some tools use it), so `..\x` and `\x` are refused like `../x` and
 * `/x`; so are drive letters, NUL characters and `..` anywhere, and paths beyond the limits above.
 * `.` and empty components are dropped.
 */
export function entryPath(name: string, platform: NodeJS.Platform = process.platform): EntryPath {
  const refuse = (why: string) => new UnsafeZipError(`The zip entry "${name}" ${why}: refusing to unpack this zip.`);
  if (name.includes('\0')) {
    throw refuse('contains a NUL character');
  }
  const slashed = name.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[a-zA-Z]:/.test(slashed)) {
    throw refuse('is an absolute path');
  }
  const parts = slashed.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw refuse('goes up out of the destination folder (..)');
  }
  const tooLong = pathLimitProblem(parts);
  if (tooLong !== undefined) {
    throw refuse(tooLong);
  }
  if (platform === 'win32') {
    for (const part of parts) {
      if (hasWindowsForbidden(part) || /[. ]$/.test(part) || WINDOWS_RESERVED.test(part)) {
        throw refuse(`has a name Windows cannot hold ("${part}")`);
      }
    }
  }
  const isDirectory = slashed.endsWith('/');
  if (parts.length === 0 && !isDirectory) {
    throw refuse('has no file name');
  }
  return { parts, isDirectory };
}

/** The key two names collide on: case and Unicode form are ignored where the file system ignores them. */
export function collisionKey(parts: readonly string[], platform: NodeJS.Platform = process.platform): string {
  const joined = parts.join('/');
  return platform === 'win32' || platform === 'darwin' ? joined.normalize('NFC').toLowerCase() : joined;
}
