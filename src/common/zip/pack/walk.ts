import { readdirSync, statSync, type BigIntStats, type Dirent } from 'fs';
import * as fs from 'fs/promises';
import * as path from 'path';
import { DEFAULT_LIMITS } from '../byte-budget';
import { PackagingRefusal, throwIfAborted, unreadable } from './errors';
import { FolderNames } from './source-names';
import { SyncGate } from './sync-gate';

/** One file or folder to put in the zip, found by walking the source folder. */
export interface SourceEntry {
  /** the zip entry name: UTF-8, '/' separators, relative to the packaged folder, folders end with '/' */
  readonly name: Buffer;
  /** where it is on disk */
  readonly path: string;
  readonly isDirectory: boolean;
  readonly size: number;
  readonly mtime: Date;
  /** st_mode of the file (of the link's target, for a symbolic link) */
  readonly mode: number;
}

export interface FolderListing {
  /** sorted by name, byte-wise, so the same folder always gives the same zip */
  readonly entries: readonly SourceEntry[];
  readonly files: number;
  readonly bytes: number;
}

/** A file to leave out (the zip being written, when it is written inside the folder). */
export interface FileId {
  readonly dev: bigint;
  readonly ino: bigint;
}

// enough stat calls in flight to keep the disk and the thread pool busy, few enough to stay small
const STAT_PARALLELISM = 32;

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function kindOf(stats: BigIntStats): string {
  if (stats.isFIFO()) {
    return 'a named pipe (FIFO)';
  }
  if (stats.isSocket()) {
    return 'a socket';
  }
  return stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : 'not a regular file';
}

const key = (s: BigIntStats) => `${s.dev}:${s.ino}`;

/** A folder's names as bytes: only to tell which name is not UTF-8, so never on the common path. */
const readRaw = (dir: string) => readdirSync(dir, { encoding: 'buffer' });

/**
 * Lists `root` recursively, following symbolic links to files and folders as `zip -r` does, and
 * refusing links that loop back to a folder above them (which would make the walk endless).
 */
export async function listFolder(
  root: string,
  options: { signal?: AbortSignal; exclude?: FileId; gate?: SyncGate; maxEntries?: number } = {},
) {
  const maxEntries = options.maxEntries ?? DEFAULT_LIMITS.maxEntries;
  const gate = options.gate ?? new SyncGate();
  const top = path.resolve(root);
  let rootStats: BigIntStats;
  try {
    rootStats = await fs.stat(top, { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`Cannot package ${top}: it does not exist.`);
    }
    throw unreadable(top, error);
  }
  if (!rootStats.isDirectory()) {
    throw new Error(`Cannot package ${top}: it is not a folder.`);
  }
  const entries: SourceEntry[] = [];
  let files = 0;
  let bytes = 0;
  const excluded = options.exclude ? `${options.exclude.dev}:${options.exclude.ino}` : undefined;

  const visit = async (dir: string, prefix: string, ancestors: Map<string, string>) => {
    throwIfAborted(options.signal);
    let children: Dirent[];
    try {
      // not timed: listing a folder of 10,000 entries takes milliseconds on any file system
      children = gate.open ? readdirSync(dir, { withFileTypes: true }) : await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      throw unreadable(dir, error);
    }
    const names = new FolderNames(dir, prefix, readRaw);
    for (const child of children) {
      names.check(child.name);
    }
    const stats = await mapLimited(children, gate.open ? 1 : STAT_PARALLELISM, async (child) => {
      const childPath = path.join(dir, child.name);
      try {
        if (gate.open) {
          await gate.yieldIfDue();
          return gate.run(() => statSync(childPath, { bigint: true }));
        }
        return await fs.stat(childPath, { bigint: true });
      } catch (error) {
        throw unreadable(childPath, error, child.isSymbolicLink());
      }
    });
    const subfolders: Array<[string, string, BigIntStats]> = [];
    children.forEach((child, i) => {
      const s = stats[i];
      const childPath = path.join(dir, child.name);
      const name = prefix + child.name;
      if (s.isDirectory()) {
        const seenAt = ancestors.get(key(s));
        if (seenAt !== undefined) {
          throw new PackagingRefusal(
            `${childPath} is a symbolic link to ${seenAt}, a folder that contains it: packaging it would never end. Remove the link or move it out of the folder, then try again.`,
            'link_loop',
            childPath,
          );
        }
        subfolders.push([childPath, `${name}/`, s]);
      } else if (s.isFile()) {
        if (key(s) === excluded) {
          return;
        }
        const size = Number(s.size);
        entries.push({
          name: Buffer.from(name),
          path: childPath,
          isDirectory: false,
          size,
          mtime: s.mtime,
          mode: Number(s.mode),
        });
        files++;
        bytes += size;
      } else {
        throw new PackagingRefusal(
          `${childPath} is ${kindOf(s)}, which cannot be packaged. Move it out of the folder, then try again.`,
          'not_a_regular_file',
          childPath,
        );
      }
    });
    if (entries.length + subfolders.length > maxEntries) {
      throw new PackagingRefusal(
        `${top} holds more than ${maxEntries} files and folders, the most a package may hold (unpackers refuse more). Split it into several datasets, or pack parts of it into archives of their own, then try again.`,
        'too_many_files',
        top,
      );
    }
    for (const [childPath, name, s] of subfolders) {
      entries.push({
        name: Buffer.from(name),
        path: childPath,
        isDirectory: true,
        size: 0,
        mtime: s.mtime,
        mode: Number(s.mode),
      });
      await visit(childPath, name, new Map(ancestors).set(key(s), childPath));
    }
  };

  await visit(top, '', new Map([[key(rootStats), top]]));
  entries.sort((a, b) => Buffer.compare(a.name, b.name));
  return { entries, files, bytes } satisfies FolderListing;
}
