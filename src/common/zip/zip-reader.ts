import type { Readable } from 'stream';
import * as yauzl from 'yauzl';
import { CachedFileReader } from './cached-reader';
import { checkEndRecord } from './end-record';
import { entryName, sameSeparators } from './entry-name';
import { BadZipError, DiskSpaceError, UnsafeZipError } from './unsafe-zip-error';

export { entryName } from './entry-name';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const HOST_UNIX = 3;
const HOST_MACOS = 19;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;

/** An error of yauzl or zlib about the zip's bytes, as a BadZipError that says what to do. */
export function damaged(error: unknown, name?: string): unknown {
  if (
    !(error instanceof Error) ||
    error instanceof UnsafeZipError ||
    error instanceof DiskSpaceError ||
    error.name === 'AbortError' ||
    'syscall' in error // the file system's, not the zip's
  ) {
    return error;
  }
  const what = name === undefined ? 'The zip' : `The zip entry "${name}"`;
  return new BadZipError(
    `${what} cannot be read (${error.message}): the zip is damaged or not a zip. Copy or download it again.`,
  );
}

/**
 * Opens a zip for reading entry by entry, after checking its end records (end-record.ts). Names are
 * decoded here rather than by yauzl (entry-name.ts), so that the checks in entry-paths.ts (stricter,
 * and with messages that say why) are the only ones applied; entry sizes are checked here too
 * (nextEntry, byte-budget.ts), with messages that name the entry.
 */
export async function openZip(file: string): Promise<yauzl.ZipFile> {
  const { reader, size } = await CachedFileReader.open(file);
  const options = { lazyEntries: true, validateEntrySizes: false, decodeStrings: false, autoClose: false };
  let zip: yauzl.ZipFile;
  try {
    await checkEndRecord((position, length) => reader.readAt(position, length), size);
    zip = await yauzl.fromRandomAccessReaderPromise(reader, size, options);
  } catch (error) {
    await reader.discard();
    throw damaged(error);
  }
  // errors also come through nextEntry; without a listener a late one would crash the process
  zip.on('error', () => undefined);
  return zip;
}

/**
 * A STORED entry is its data as it is: two different sizes mean a damaged or crafted header
 * (yauzl refuses it, Info-ZIP warns and fails the CRC check).
 */
function checkSizes(entry: yauzl.Entry): void {
  if (entry.compressionMethod === METHOD_STORED && !entry.isEncrypted()) {
    if (entry.compressedSize !== entry.uncompressedSize) {
      let name: string;
      try {
        name = entryName(entry);
      } catch {
        name = entry.fileNameRaw.toString('latin1');
      }
      throw new BadZipError(
        `The zip entry "${name}" is stored without compression, but its header gives it ${entry.compressedSize} bytes in the zip and ${entry.uncompressedSize} bytes unpacked: the zip is damaged. Make it again.`,
      );
    }
  }
}

/** The next entry of the central directory, or undefined at its end. */
export function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry) => {
      cleanup();
      try {
        checkSizes(entry);
        resolve(entry);
      } catch (error) {
        reject(error);
      }
    };
    const onEnd = () => (cleanup(), resolve(undefined));
    const onError = (error: Error) => (cleanup(), reject(damaged(error)));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

/** The unix st_mode of an entry made on unix or macOS (others do not record one). */
export function unixMode(entry: yauzl.Entry): number | undefined {
  const host = entry.versionMadeBy >> 8;
  const mode = entry.externalFileAttributes >>> 16;
  return (host === HOST_UNIX || host === HOST_MACOS) && mode !== 0 ? mode : undefined;
}

export function isSymbolicLink(entry: yauzl.Entry): boolean {
  return ((unixMode(entry) ?? 0) & S_IFMT) === S_IFLNK;
}

/**
 * The entry's data, inflated. Its local header must name it as the central directory does, `\`
 * and `/` being the same separator: some Windows tools write one in the local header and the
 * other in the central directory (Python's zipfile refuses those; Info-ZIP warns and reads them).
 * Any other difference means two tools would unpack different files, so the zip is refused.
 */
export async function openEntryStream(zip: yauzl.ZipFile, entry: yauzl.Entry, name: string): Promise<Readable> {
  if (entry.isEncrypted()) {
    throw new Error(`The zip entry "${name}" is encrypted, which ML Lab cannot unpack.`);
  }
  if (entry.compressionMethod !== METHOD_STORED && entry.compressionMethod !== METHOD_DEFLATED) {
    throw new BadZipError(
      `The zip entry "${name}" is compressed with method ${entry.compressionMethod}, which ML Lab cannot unpack: only stored and deflated entries are supported. Make the zip again with deflate compression.`,
    );
  }
  try {
    const local = await zip.readLocalFileHeaderPromise(entry);
    if (!sameSeparators(local.fileName).equals(sameSeparators(entry.fileNameRaw))) {
      throw new BadZipError(
        `The zip entry "${name}" has another name in its local header ("${local.fileName.toString('latin1')}"): the zip is damaged, or made to show different files to different tools. Refusing to unpack it.`,
      );
    }
    return await zip.openReadStreamPromise(entry);
  } catch (error) {
    throw damaged(error, name);
  }
}
