import * as fs from 'fs';
import * as path from 'path';
import { homePaths } from '../common/home';
import { unzipSafe } from '../common/zip/safe-unzip';
import type { DatasetVersion } from '../protocol/datasets';

/**
 * The local path to use for a dataset version: the stored file itself, or for a package unpacked
 * into the lab home's cache, once per content hash (unpacking is atomic, so a folder in the cache
 * is always complete and can be reused by every later call).
 */
export async function localPath(home: string, version: DatasetVersion, unpack: boolean): Promise<string> {
  if (version.kind !== 'package' || !unpack) {
    return version.path;
  }
  const target = path.join(homePaths(home).unpacked, version.sha256);
  if (fs.existsSync(target)) {
    return target;
  }
  privateFolders(home, path.dirname(target));
  try {
    await unzipSafe(version.path, target);
    makePrivate(target);
  } catch (e) {
    // another process may have unpacked the same content at the same time
    if (fs.existsSync(target)) {
      return target;
    }
    throw e;
  }
  return target;
}

/**
 * Makes `dir` and the folders between the lab home and it exist and be private (0700): they are
 * created by whichever process needs them first, with its umask.
 */
function privateFolders(home: string, dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') {
    return;
  }
  const root = path.resolve(home);
  for (let d = path.resolve(dir); d.startsWith(root + path.sep); d = path.dirname(d)) {
    if ((fs.statSync(d).mode & 0o777) !== 0o700) {
      fs.chmodSync(d, 0o700);
    }
  }
}

/**
 * An unpacked package is private like the rest of the lab home: folders 0700, files readable (and,
 * when they were, executable) by the owner only. It is unpacked under a 0700 folder, so no one else
 * can reach it while this runs. Symbolic links are left alone (chmod would follow them).
 */
function makePrivate(root: string): void {
  if (process.platform === 'win32') {
    return;
  }
  const walk = (p: string) => {
    const s = fs.lstatSync(p);
    if (s.isDirectory()) {
      fs.chmodSync(p, 0o700);
      for (const name of fs.readdirSync(p)) {
        walk(path.join(p, name));
      }
    } else if (s.isFile() && (s.mode & 0o077) !== 0) {
      fs.chmodSync(p, (s.mode & 0o700) | 0o400);
    }
  };
  walk(root);
}

/** Copies a version to `dir` (a package is unpacked there); returns what was written. */
export async function exportVersion(version: DatasetVersion, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  if (version.kind === 'package') {
    const target = path.join(dir, version.fileName.replace(/\.zip$/, ''));
    await unzipSafe(version.path, target);
    return target;
  }
  const target = path.join(dir, version.fileName);
  if (fs.existsSync(target)) {
    throw new Error(`"${target}" already exists: choose another folder or remove it first.`);
  }
  fs.copyFileSync(version.path, target, fs.constants.COPYFILE_EXCL);
  fs.chmodSync(target, 0o644);
  return target;
}
