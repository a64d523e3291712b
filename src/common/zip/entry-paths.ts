import { UnsafeZipError } from './unsafe-zip-error';

/** An entry's place in the destination: its path components, all plain names. */
export interface EntryPath {
  readonly parts: readonly string[];
  readonly isDirectory: boolean;
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;
const WINDOWS_FORBIDDEN = '<>:"|?*';

/** Characters Windows does not allow in a file name: the ones above and control characters. */
function hasWindowsForbidden(part: string): boolean {
  return [...part].some((c) => WINDOWS_FORBIDDEN.includes(c) || c.charCodeAt(0) < 32);
}

/**
 * Checks an entry name and splits it into components. A backslash counts as a separator (as on
 * Windows, where zips made by some tools use it), so `..\x` and `\x` are refused like `../x` and
 * `/x`; so are drive letters, NUL characters and `..` anywhere. `.` and empty components are dropped.
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
