import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { homePaths } from '../common/home';
import { unzipSafe } from '../common/zip/safe-unzip';
import type { DatasetVersion } from '../protocol/datasets';
import { datasetRoutes } from '../protocol/routes/datasets';
import { urlOf } from '../protocol/routes/route';
import type { ApiClient } from './api-client';
import { catchUp, type RunningHash } from './blob-upload';
import { cancelledError, TRANSFER_CHUNK, transferFailure, withRetries, type TransferOptions } from './transfer';

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

export { hashFile, sendFile, uploadBlob, type SentBlob } from './blob-upload';
export type { TransferOptions, TransferProgress } from './transfer';

/**
 * Fetches the content of a dataset version into `target`: into `<target>.part` first, resumed with
 * a Range (and If-Range on its sha256, so bytes of other content are never mixed in) after a dropped
 * connection, then checked against its sha256 and renamed into place. A wrong hash removes the
 * partial file and fails.
 */
export async function downloadVersion(
  client: ApiClient,
  version: Pick<DatasetVersion, 'name' | 'version' | 'sha256' | 'size'>,
  target: string,
  project?: string,
  options: TransferOptions = {},
): Promise<string> {
  const part = `${target}.part`;
  const url = urlOf(
    datasetRoutes.content.path,
    { name: version.name, version: String(version.version) },
    { project: project || undefined },
  );
  const heldBytes = () => fs.statSync(part, { throwIfNoEntry: false })?.size ?? 0;
  if (version.size === 0) {
    fs.writeFileSync(part, ''); // nothing to fetch
  }
  // the bytes are hashed as they arrive (reading the file again cost as much as fetching it); after a
  // dropped connection the hash catches up with what the file holds
  const hash: RunningHash = { hash: createHash('sha256'), bytes: 0 };
  await withRetries(
    options,
    async () => {
      let have = heldBytes();
      if (have > version.size) {
        fs.rmSync(part, { force: true });
        have = 0;
      }
      await catchUp(hash, part, have);
      if (have === version.size) {
        return;
      }
      await fetchFrom(client, url, part, have, version, options, hash);
    },
    heldBytes,
  );
  await catchUp(hash, part, heldBytes());
  const got = { sha256: hash.hash.digest('hex') };
  if (got.sha256 !== version.sha256) {
    fs.rmSync(part, { force: true });
    throw new Error(
      `The content received for ${version.name}:v${version.version} has sha256 ${got.sha256}, not ${version.sha256}: it was removed; fetch it again.`,
    );
  }
  fs.renameSync(part, target);
  return target;
}

function fetchFrom(
  client: ApiClient,
  url: string,
  part: string,
  have: number,
  version: Pick<DatasetVersion, 'sha256' | 'size'>,
  options: TransferOptions,
  hash: RunningHash,
): Promise<void> {
  const headers: Record<string, string> =
    have > 0 ? { range: `bytes=${have}-`, 'if-range': `"${version.sha256}"` } : {};
  return new Promise<void>((resolve, rejectNow) => {
    if (options.signal?.aborted) {
      rejectNow(cancelledError()); // cancelled before it started
      return;
    }
    /** the file being written, once the answer came */
    let out: fs.WriteStream | undefined;
    // a failure is said once the file is closed: whoever removes what was received then removes it
    // for good (a file still being opened would be made again after its removal)
    const reject = (e: unknown) => {
      if (out && !out.closed) {
        out.once('close', () => rejectNow(e));
        out.destroy();
      } else {
        rejectNow(e);
      }
    };
    const req = client.rawRequest('GET', url, headers, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200 && status !== 206) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(client.transportError(e)));
        res.on('end', () => reject(client.errorAnswer('GET', url, res, Buffer.concat(chunks).toString('utf8'))));
        return;
      }
      const start = status === 206 ? Number(/^bytes (\d+)-/.exec(String(res.headers['content-range']))?.[1]) : 0;
      if (status === 206 && start !== have) {
        res.destroy();
        reject(new Error(`The lab answered bytes from ${start}, not ${have}: fetch again.`));
        return;
      }
      let received = start;
      out = fs.createWriteStream(part, { flags: status === 206 ? 'a' : 'w', highWaterMark: TRANSFER_CHUNK });
      if (status === 200 && hash.bytes !== 0) {
        hash.hash = createHash('sha256'); // the whole content again (the lab did not resume)
        hash.bytes = 0;
      }
      res.on('data', (c: Buffer) => {
        received += c.length;
        hash.hash.update(c);
        hash.bytes += c.length;
        options.onProgress?.(received, version.size);
      });
      pipeline(res, out).then(resolve, (e: NodeJS.ErrnoException) =>
        reject(transferFailure(options.signal, (x) => client.transportError(x), e)),
      );
    });
    const onAbort = () => req.destroy(new Error('cancelled'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => options.signal?.removeEventListener('abort', onAbort));
    req.on('error', (e) => reject(transferFailure(options.signal, (x) => client.transportError(x), e)));
    req.end();
  });
}

/**
 * Fetches a version from a lab over the network into `dir`: a file as `<dir>/<file name>`, a package
 * unpacked into `<dir>/<folder>`; returns the path written. The content is checked against its
 * sha256. A fetch cut off is resumed by a later one into the same folder, unless `keepPartial` is
 * false (then what was received is removed when the fetch fails or is cancelled).
 */
export async function fetchVersionInto(
  client: ApiClient,
  version: DatasetVersion,
  dir: string,
  project: string | undefined,
  options: TransferOptions & { readonly keepPartial?: boolean } = {},
): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const target =
    version.kind === 'package'
      ? path.join(dir, version.fileName.replace(/\.zip$/, ''))
      : path.join(dir, version.fileName);
  if (fs.existsSync(target)) {
    throw new Error(`"${target}" already exists: choose another folder, or remove it first.`);
  }
  const download = version.kind === 'package' ? path.join(dir, `.${version.sha256.slice(0, 16)}.zip`) : target;
  try {
    await downloadVersion(client, version, download, project, options);
  } catch (e) {
    if (options.keepPartial === false) {
      fs.rmSync(`${download}.part`, { force: true });
    }
    throw e;
  }
  if (version.kind === 'package') {
    try {
      await unzipSafe(download, target);
    } finally {
      fs.rmSync(download, { force: true });
    }
  }
  return target;
}
