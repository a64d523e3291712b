import { randomBytes } from 'crypto';
import * as fs from 'fs/promises';
import * as path from 'path';
import type { Readable } from 'stream';
import type { ZipFile } from 'yauzl';
import { ByteBudget, type UnzipLimits } from './byte-budget';
import { entryPath } from './entry-paths';
import { EntryTree } from './entry-tree';
import { extractFile } from './extract-file';
import { DiskSpaceError, UnsafeZipError } from './unsafe-zip-error';
import { entryName, isSymbolicLink, nextEntry, openEntryStream, openZip } from './zip-reader';

export { BadZipError, DiskSpaceError, UnsafeZipError } from './unsafe-zip-error';
export { maxUnpackBytes, MAX_UNPACK_BYTES_ENV, type UnzipLimits } from './byte-budget';

/** a link's target is a path: anything longer is not one */
const MAX_LINK_TARGET_BYTES = 4096;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
/** files written at once: small files are mostly waiting on the file system, so overlap them */
const PARALLEL_FILES = 8;

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

async function readLinkTarget(stream: Readable, name: string, budget: ByteBudget, size: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  const count = budget.counter(name, size);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    length += chunk.length;
    await count.add(chunk.length);
    if (length > MAX_LINK_TARGET_BYTES) {
      stream.destroy();
      throw new UnsafeZipError(
        `The zip entry "${name}" is a symbolic link with an overlong target: refusing to unpack this zip.`,
      );
    }
    chunks.push(chunk);
  }
  count.end();
  try {
    return strictUtf8.decode(Buffer.concat(chunks));
  } catch {
    throw new UnsafeZipError(
      `The zip entry "${name}" is a symbolic link whose target is not UTF-8: refusing to unpack this zip.`,
    );
  }
}

/** Runs up to `limit` jobs at once; the first failure is kept and thrown by `check` and `drain`. */
class JobLimiter {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {}

  check(): void {
    if (this.failure) {
      throw this.failure.error;
    }
  }

  async add(job: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit) {
      await Promise.race(this.running);
    }
    this.check();
    const p: Promise<void> = job()
      .catch((error: unknown) => void (this.failure ??= { error }))
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.check();
  }
}

/** Writes the entries of an open zip under `root`; links last, once every name is known. */
async function extractAll(zip: ZipFile, root: string, budget: ByteBudget, signal: AbortSignal | undefined) {
  const tree = new EntryTree();
  const folders = new Map<string, Promise<unknown>>();
  const makeFolder = (folder: string) => {
    let made = folders.get(folder);
    if (made === undefined) {
      made = fs.mkdir(folder, { recursive: true });
      folders.set(folder, made);
    }
    return made;
  };
  const jobs = new JobLimiter(PARALLEL_FILES);
  let files = 0;
  try {
    for (let entry = await nextEntry(zip); entry !== undefined; entry = await nextEntry(zip)) {
      if (signal?.aborted) {
        throw abortError();
      }
      jobs.check();
      const name = entryName(entry);
      const where = entryPath(name);
      if (entry.isEncrypted()) {
        // refused whatever it is (a folder too), before anything of it is read, as the Python client does
        throw new UnsafeZipError(
          `The zip entry "${name}" is encrypted, which ML Lab cannot unpack: refusing to unpack this zip.`,
        );
      }
      budget.declare(name, entry.uncompressedSize);
      const target = path.join(root, ...where.parts);
      if (isSymbolicLink(entry)) {
        const stream = await openEntryStream(zip, entry, name);
        tree.addLink(name, where, await readLinkTarget(stream, name, budget, entry.uncompressedSize));
      } else if (where.isDirectory) {
        tree.addFolder(name, where);
        await makeFolder(target);
      } else {
        tree.addFile(name, where);
        await makeFolder(path.dirname(target));
        const current = entry;
        await jobs.add(() => extractFile(zip, current, name, target, budget, signal));
        files++;
      }
    }
  } finally {
    // nothing may still be writing when the caller removes the folder
    await jobs.drain().catch(() => undefined);
  }
  await jobs.drain();
  // no entry can have been written through a link: none existed while they were written
  for (const link of tree.checkLinks()) {
    const target = path.join(root, ...link.parts);
    await makeFolder(path.dirname(target));
    await fs.symlink(link.target, target);
    files++;
  }
  return files;
}

/**
 * Unpacks `zipFile` into `dest`, which must not exist yet: into a temporary sibling first, renamed
 * when complete, so `dest` appears whole or not at all; on any error the temporary folder is removed.
 * Refuses (UnsafeZipError, naming the entry) anything that would write outside `dest` or over
 * another entry, symbolic links leading outside, and zips beyond the limits (zip bombs: by the
 * bytes actually unpacked, see byte-budget.ts); malformed zips (BadZipError, a kind of
 * UnsafeZipError); and what would not fit on the disk (DiskSpaceError).
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
    const budget = new ByteBudget(limits, temp);
    zip = await openZip(zipFile);
    budget.checkEntryCount(zip.entryCount);
    await budget.measure();
    const files = await extractAll(zip, temp, budget, signal);
    if (await exists(destination)) {
      throw new Error(`Cannot unpack into ${destination}: it appeared while unpacking. Remove it and try again.`);
    }
    await fs.rename(temp, destination);
    return { files, bytes: budget.written };
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true });
    if (signal?.aborted) {
      throw abortError();
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC' && !(error instanceof DiskSpaceError)) {
      throw new DiskSpaceError(
        `The disk became full while unpacking ${zipFile} into ${destination}: free some space and try again.`,
      );
    }
    throw error;
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
        isDirectory: /[\\/]$/.test(name),
      });
    }
    return entries;
  } finally {
    zip.close();
  }
}
