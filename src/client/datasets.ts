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
  fs.mkdirSync(path.dirname(target), { recursive: true });
  try {
    await unzipSafe(version.path, target);
  } catch (e) {
    // another process may have unpacked the same content at the same time
    if (fs.existsSync(target)) {
      return target;
    }
    throw e;
  }
  return target;
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
