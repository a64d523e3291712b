import { randomBytes } from 'crypto';
import * as fs from 'fs/promises';
import * as path from 'path';
import type { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import type { Entry, ZipFile } from 'yauzl';
import { ByteBudget, type UnzipLimits } from './byte-budget';
import { entryPath } from './entry-paths';
import { EntryTree } from './entry-tree';
import { UnsafeZipError } from './unsafe-zip-error';
import { entryName, isSymbolicLink, nextEntry, openEntryStream, openZip, sizeMismatch, unixMode } from './zip-reader';

export { UnsafeZipError } from './unsafe-zip-error';
export type { UnzipLimits } from './byte-budget';

/** a link's target is a path: anything longer is not one */
const MAX_LINK_TARGET_BYTES = 4096;

function abortError(): Error {
  const error = new Error('Unpacking was cancelled.');
  error.name = 'AbortError';
  return error;
}

async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}

async function readLinkTarget(stream: Readable, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_LINK_TARGET_BYTES) {
      stream.destroy();
      throw new UnsafeZipError(
        `The zip entry "${name}" is a symbolic link with an overlong target: refusing to unpack this zip.`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes one file entry, counting its bytes against the limits; never replaces an existing file. */
async function extractFile(
  zip: ZipFile,
  entry: Entry,
  name: string,
  target: string,
  budget: ByteBudget,
  signal: AbortSignal | undefined,
): Promise<void> {
  const mode = unixMode(entry);
  // permission bits only (no setuid), and always readable by the owner
  const fileMode = mode === undefined ? 0o644 : (mode & 0o777) | 0o400;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(target, 'wx', fileMode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UnsafeZipError(`The zip entry "${name}" would overwrite another entry: refusing to unpack this zip.`);
    }
    throw error;
  }
  try {
    const input = await openEntryStream(zip, entry, name);
    await pipeline(input, budget.counter(name, entry.compressedSize), handle.createWriteStream(), { signal });
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw sizeMismatch(name, error);
  }
  const mtime = entry.getLastModDate();
  if (!Number.isNaN(mtime.getTime())) {
    await fs.utimes(target, mtime, mtime);
  }
}

/**
 * Unpacks `zipFile` into `dest`, which must not exist yet: into a temporary sibling first, renamed
 * when complete, so `dest` appears whole or not at all; on any error the temporary folder is removed.
 * Refuses (UnsafeZipError, naming the entry) anything that would write outside `dest` or over
 * another entry, symbolic links leading outside, and zips beyond the limits (zip bombs).
 */
export async function unzipSafe(
  zipFile: string,
  dest: string,
  limits: UnzipLimits & { signal?: AbortSignal } = {},
): Promise<{ files: number; bytes: number }> {
  const { signal } = limits;
  if (signal?.aborted) {
    throw abortError();
  }
  const destination = path.resolve(dest);
  if (await exists(destination)) {
    throw new Error(`Cannot unpack into ${destination}: it already exists. Remove it or choose another folder.`);
  }
  await fs.mkdir(path.dirname(destination), { recursive: true });
  const temp = `${destination}.unzip-${randomBytes(6).toString('hex')}`;
  await fs.mkdir(temp);
  let zip: ZipFile | undefined;
  try {
    zip = await openZip(zipFile);
    const budget = new ByteBudget(limits);
    budget.checkEntryCount(zip.entryCount);
    const tree = new EntryTree();
    const madeFolders = new Set<string>();
    const makeFolder = async (folder: string) => {
      if (!madeFolders.has(folder)) {
        await fs.mkdir(folder, { recursive: true });
        madeFolders.add(folder);
      }
    };
    let files = 0;
    for (let entry = await nextEntry(zip); entry !== undefined; entry = await nextEntry(zip)) {
      if (signal?.aborted) {
        throw abortError();
      }
      const name = entryName(entry);
      const where = entryPath(name);
      budget.declare(name, entry);
      const target = path.join(temp, ...where.parts);
      if (isSymbolicLink(entry)) {
        const linkTarget = await readLinkTarget(await openEntryStream(zip, entry, name), name);
        tree.addLink(name, where, linkTarget);
      } else if (where.isDirectory) {
        tree.addFolder(name, where);
        await makeFolder(target);
      } else {
        tree.addFile(name, where);
        await makeFolder(path.dirname(target));
        await extractFile(zip, entry, name, target, budget, signal);
        files++;
      }
    }
    // links last, once every name is known, so no entry is ever written through one
    for (const link of tree.checkLinks()) {
      const target = path.join(temp, ...link.parts);
      await makeFolder(path.dirname(target));
      await fs.symlink(link.target, target);
      files++;
    }
    if (await exists(destination)) {
      throw new Error(`Cannot unpack into ${destination}: it appeared while unpacking. Remove it and try again.`);
    }
    await fs.rename(temp, destination);
    return { files, bytes: budget.written };
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true });
    throw signal?.aborted ? abortError() : error;
  } finally {
    zip?.close();
  }
}

/** The entries of a zip as its central directory lists them (names not checked). */
export async function listZip(
  zipFile: string,
): Promise<Array<{ name: string; size: number; compressedSize: number; isDirectory: boolean }>> {
  const zip = await openZip(zipFile);
  try {
    const entries = [];
    for (let entry = await nextEntry(zip); entry !== undefined; entry = await nextEntry(zip)) {
      const name = entryName(entry);
      entries.push({
        name,
        size: entry.uncompressedSize,
        compressedSize: entry.compressedSize,
        isDirectory: name.endsWith('/'),
      });
    }
    return entries;
  } finally {
    zip.close();
  }
}
