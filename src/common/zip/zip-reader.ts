import type { Readable } from 'stream';
import * as yauzl from 'yauzl';
import { CachedFileReader } from './cached-reader';
import { UnsafeZipError } from './unsafe-zip-error';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const HOST_UNIX = 3;
const HOST_MACOS = 19;

/**
 * Opens a zip for reading entry by entry. Names are decoded here rather than by yauzl, so that the
 * checks in entry-paths.ts (stricter, and with messages that say why) are the only ones applied.
 */
export async function openZip(file: string): Promise<yauzl.ZipFile> {
  const { reader, size } = await CachedFileReader.open(file);
  const options = { lazyEntries: true, validateEntrySizes: true, decodeStrings: false, autoClose: false };
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromRandomAccessReaderPromise(reader, size, options);
  } catch (error) {
    await reader.discard();
    throw error;
  }
  // errors also come through nextEntry; without a listener a late one would crash the process
  zip.on('error', () => undefined);
  return zip;
}

/** The next entry of the central directory, or undefined at its end. */
export function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry) => (cleanup(), resolve(entry));
    const onEnd = () => (cleanup(), resolve(undefined));
    const onError = (error: Error) => (cleanup(), reject(error));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

/** The name as stored: UTF-8 when flagged (or given in the Info-ZIP unicode field), else CP437. */
export function entryName(entry: yauzl.Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
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

/** yauzl's size checks say the data is longer or shorter than its header claims. */
export function sizeMismatch(name: string, error: unknown): unknown {
  const message = error instanceof Error ? error.message : '';
  return /too many bytes|not enough bytes/.test(message)
    ? new UnsafeZipError(
        `The zip entry "${name}" holds more or less data than its header says: refusing to unpack this zip.`,
      )
    : error;
}

export async function openEntryStream(zip: yauzl.ZipFile, entry: yauzl.Entry, name: string): Promise<Readable> {
  if (entry.isEncrypted()) {
    throw new Error(`The zip entry "${name}" is encrypted, which ML Lab cannot unpack.`);
  }
  return zip.openReadStreamPromise(entry);
}
