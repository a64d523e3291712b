/**
 * The names of files and folders the packager refuses, before anything is written: every name that
 * an unpacker (src/common/zip, python/mllab/_unzip.py) would refuse, or that would not come back as
 * it is, so that a package ML Lab makes can always be loaded:
 * - a backslash: unpackers read it as a folder separator (zips made on Windows use it), so `a\b`
 *   would come back as the folder `a` holding `b`, and `..\x` would be refused;
 * - `.` or `..` as a name, or a NUL character (a file system gives none, but a name is checked
 *   whole here rather than trusting it);
 * - bytes that are not UTF-8 (a name written in another character set): a zip entry name is UTF-8;
 * - a letter and a colon at the start of a top-level name (`c:data.csv`): read as a Windows drive;
 * - longer than 255 bytes, a path inside the folder longer than 3072 bytes or deeper than 256
 *   levels: the unpackers' limits (entry-paths.ts);
 * - two names in one folder that differ only in case or Unicode form (`Data.csv`, `data.csv`):
 *   the file systems of macOS and Windows ignore both, so their unpackers would write one over the
 *   other and refuse the package.
 * Names that only Windows cannot hold (`a:b`, `con.txt`, a trailing dot) are packaged: they unpack
 * on Linux, where containers use data sets, and on macOS; an unpacker on Windows refuses them,
 * naming the entry. Refusing them would refuse the colons of timestamps, common in data file names.
 */
import * as path from 'path';
import { collisionKey, MAX_ENTRY_DEPTH, MAX_ENTRY_PATH_BYTES, MAX_NAME_PART_BYTES } from '../entry-paths';
import { PackagingRefusal } from './errors';

/** what can make a name unpackable, bar its length: checked first, in one pass */
const SUSPECT = /[\\\0\uFFFD\uD800-\uDFFF]/;
const DRIVE = /^[a-zA-Z]:/;
/** a lone UTF-16 surrogate (Windows names are UTF-16 and may hold one) */
const LONE_SURROGATE = /\p{Cs}/u;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const badName = (where: string, why: string, fix = 'Rename it') =>
  new PackagingRefusal(`${where} cannot be packaged: its name ${why}. ${fix}, then try again.`, 'bad_file_name', where);

/** The name's bytes, with those that are not printable ASCII as \xNN: how to show a name that is not UTF-8. */
function escapedName(raw: Buffer): string {
  return [...raw].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16)}`)).join('');
}

/**
 * Names in `dir` that are not UTF-8 come from readdir with U+FFFD in place of their bad bytes, and
 * cannot even be opened by that name: read them again as bytes, to say which file it is.
 */
function refuseNonUtf8(dir: string, readRaw: (dir: string) => Buffer[]): void {
  for (const raw of readRaw(dir)) {
    try {
      utf8.decode(raw);
    } catch {
      throw badName(
        path.join(dir, escapedName(raw)),
        'is not valid UTF-8 (it was written in another character set, such as Latin-1), and a zip holds UTF-8 names',
        'Rename it',
      );
    }
  }
}

/** The names of one folder being listed, checked one by one as they come. */
export class FolderNames {
  private readonly keys = new Map<string, string>();
  private readonly prefixBytes: number;
  private readonly depth: number;

  /**
   * @param prefix the folder's entry name ('' for the top, else ending with '/')
   * @param readRaw lists `dir` as raw bytes (only for a name that is not UTF-8)
   */
  constructor(
    private readonly dir: string,
    prefix: string,
    private readonly readRaw: (dir: string) => Buffer[],
  ) {
    this.prefixBytes = Buffer.byteLength(prefix);
    this.depth = prefix === '' ? 0 : prefix.split('/').length - 1;
  }

  /** Throws a PackagingRefusal naming the file or folder `name` if it cannot be packaged as it is. */
  check(name: string): void {
    // not path.join, which would read a name ".." as the folder above
    const where = `${this.dir}${path.sep}${name}`;
    if (SUSPECT.test(name) || name === '.' || name === '..') {
      this.checkCharacters(name, where);
    }
    if (this.depth === 0 && DRIVE.test(name)) {
      throw badName(where, 'starts with a letter and a colon, which unpackers read as a Windows drive');
    }
    // a UTF-16 code unit is at most 3 bytes of UTF-8: bytes are counted only for names that may be long
    const bytes = name.length * 3 > MAX_NAME_PART_BYTES ? Buffer.byteLength(name) : undefined;
    if (bytes !== undefined && bytes > MAX_NAME_PART_BYTES) {
      throw badName(
        where,
        `is ${bytes} bytes long in UTF-8, more than the ${MAX_NAME_PART_BYTES} bytes a file name may have on Linux`,
        'Shorten it',
      );
    }
    if (this.depth + 1 > MAX_ENTRY_DEPTH) {
      throw new PackagingRefusal(
        `${where} cannot be packaged: it is ${this.depth + 1} levels deep inside the folder, more than the ${MAX_ENTRY_DEPTH} levels a package may have. Move it up, then try again.`,
        'bad_file_name',
        where,
      );
    }
    const total =
      this.prefixBytes + name.length * 3 > MAX_ENTRY_PATH_BYTES
        ? this.prefixBytes + (bytes ?? Buffer.byteLength(name))
        : 0;
    if (total > MAX_ENTRY_PATH_BYTES) {
      throw new PackagingRefusal(
        `${where} cannot be packaged: its path inside the folder is ${total} bytes long, more than the ${MAX_ENTRY_PATH_BYTES} bytes a package entry may have. Shorten the names of the folders above it, or move it up, then try again.`,
        'bad_file_name',
        where,
      );
    }
    this.checkCollision(name);
  }

  private checkCharacters(name: string, where: string): void {
    if (name.includes('\\')) {
      throw badName(
        where,
        'contains a backslash (\\), which unpackers read as a folder separator, so it would not unpack as this file',
        'Rename it without the backslash',
      );
    }
    if (name === '.' || name === '..' || name.includes('\0')) {
      throw badName(where, `is "${name.replace(/\0/g, '\\0')}", which cannot be unpacked`);
    }
    if (LONE_SURROGATE.test(name)) {
      throw badName(where, 'is not valid Unicode (it holds half of a character), and a zip holds UTF-8 names');
    }
    if (name.includes('\uFFFD')) {
      refuseNonUtf8(this.dir, this.readRaw); // returns if the name really holds U+FFFD
    }
  }

  private checkCollision(name: string): void {
    const key = collisionKey([name], 'darwin');
    const other = this.keys.get(key);
    if (other !== undefined) {
      throw new PackagingRefusal(
        `${this.dir} cannot be packaged: it holds both "${other}" and "${name}", names that differ only in case (or in Unicode form). Unpacked on macOS or Windows, one would overwrite the other, so the package would be refused there. Rename one of them, then try again.`,
        'bad_file_name',
        `${this.dir}${path.sep}${name}`,
      );
    }
    this.keys.set(key, name);
  }
}
