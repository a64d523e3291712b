import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packFolder } from '../common/zip/pack';
import type { ApiClient } from '../client/api-client';
import { exportVersion, fetchVersionInto, localPath, sendFile, uploadBlob, type SentBlob } from '../client/datasets';
import { EventStream } from '../client/event-stream';
import { formatDatasetRef, parseDatasetRef } from '../protocol/dataset-ref';
import type { DatasetVersion } from '../protocol/datasets';
import { confirm } from './confirm';
import { expectArgs, Output, table } from './output';
import { formatBytes, ProgressBar } from './progress';
import { DATASET_USAGE } from './usage';
import { defaultDatasetName } from '../common/dataset-name';

export interface DatasetFlags {
  readonly name?: string;
  readonly description?: string;
  readonly tag?: string[];
  readonly project?: string;
  readonly to?: string;
  readonly yes?: boolean;
  /** delete even a version that experiments record as input */
  readonly force?: boolean;
}

function describe(v: DatasetVersion): string {
  const files = v.kind === 'package' ? `, ${v.fileCount} files packaged` : '';
  return `${formatDatasetRef(v.name, v.version)} (${formatBytes(v.size)}${files}, sha256 ${v.sha256.slice(0, 12)})`;
}

async function add(client: ApiClient, out: Output, source: string, flags: DatasetFlags): Promise<number> {
  const operationId = randomUUID();
  const bar = new ProgressBar();
  const stream = new EventStream(
    client,
    (e) => e.type === 'operationProgress' && e.progress.operationId === operationId && bar.update(e.progress),
    () => undefined,
  );
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  try {
    const version = await client.addDataset(
      {
        path: path.resolve(source),
        name: flags.name,
        description: flags.description,
        tags: flags.tag,
        project: flags.project,
        operationId,
      },
      abort.signal,
    );
    bar.done();
    out.result(version, () => `Added ${describe(version)}.`);
    return 0;
  } catch (e) {
    bar.done();
    if (abort.signal.aborted) {
      out.result({ cancelled: true }, () => 'Cancelled: nothing was stored.');
      return 130;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    stream.dispose();
  }
}

/** `name:v3`, `name:3` or `name@3` */
function parseRef(ref: string): { name: string; version: number | 'latest' } {
  const at = /^(.*)@v?([1-9][0-9]*)$/.exec(ref);
  return at ? { name: at[1], version: Number(at[2]) } : parseDatasetRef(ref);
}

/** Draws transfer progress on the terminal's bar. */
function transferBar(bar: ProgressBar, phase: string): (bytes: number, total: number) => void {
  return (bytes, total) => bar.update({ phase, files: 0, totalFiles: 1, bytes, totalBytes: total });
}

/**
 * Adds a file or folder to a lab over the network: a folder is packaged here into the same zip a
 * local lab makes, then the content is sent (nothing when the lab holds it already; resumed after a
 * dropped connection) and the version is made of it.
 */
async function addRemote(client: ApiClient, out: Output, source: string, flags: DatasetFlags): Promise<number> {
  const absolute = path.resolve(source);
  const stat = fs.statSync(absolute, { throwIfNoEntry: false });
  if (!stat || (!stat.isFile() && !stat.isDirectory())) {
    throw new Error(`"${absolute}" is neither a file nor a folder: check the path.`);
  }
  const bar = new ProgressBar();
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  const scratch = stat.isDirectory() ? fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-package-')) : undefined;
  try {
    const transfer = { signal: abort.signal, onProgress: transferBar(bar, 'uploading') };
    let sent: SentBlob;
    if (scratch) {
      const file = path.join(scratch, 'package.zip');
      const packed = await packFolder(absolute, file, {
        signal: abort.signal,
        onProgress: (p) => bar.update({ phase: 'packaging', ...p }),
      });
      const content = { sha256: packed.sha256, size: packed.bytesOut };
      sent = { ...content, ...(await uploadBlob(client, file, content, transfer)) };
    } else {
      // a file is hashed while it is sent, unless its hash is known or cheap (then held content is not sent)
      sent = await sendFile(client, absolute, transfer);
    }
    const content = { sha256: sent.sha256, size: sent.size };
    bar.done();
    const version = await client.addUploadedDataset({
      name: flags.name ?? defaultDatasetName(absolute),
      sha256: content.sha256,
      size: content.size,
      fileName: scratch ? `${path.basename(absolute)}.zip` : path.basename(absolute),
      kind: scratch ? 'package' : 'file',
      sourcePath: absolute,
      ...(flags.description !== undefined ? { description: flags.description } : {}),
      ...(flags.tag ? { tags: flags.tag } : {}),
      ...(flags.project ? { project: flags.project } : {}),
      operator: os.userInfo().username,
    });
    const how = sent.deduplicated ? 'the lab held the content already: nothing sent' : `${formatBytes(sent.sent)} sent`;
    out.result(
      { ...version, sent: sent.sent, deduplicated: sent.deduplicated },
      () => `Added ${describe(version)} (${how}).`,
    );
    return 0;
  } catch (e) {
    bar.done();
    if (abort.signal.aborted) {
      out.result(
        { cancelled: true },
        () => 'Cancelled: what the lab received is kept for a next try, but no version was made.',
      );
      return 130;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
    if (scratch) {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }
}

/**
 * Fetches a version from a lab over the network into `dir`: a file as `<dir>/<file name>`, a package
 * unpacked into `<dir>/<folder>`. The content is checked against its sha256; a fetch cut off is
 * resumed by a later one into the same folder.
 */
async function getRemote(
  client: ApiClient,
  ref: string,
  dir: string,
  project: string | undefined,
): Promise<{ path: string; version: DatasetVersion }> {
  const { name, version: which } = parseRef(ref);
  const version = await client.getDatasetVersion(name, which, project);
  const bar = new ProgressBar();
  try {
    const target = await fetchVersionInto(client, version, dir, project, {
      onProgress: transferBar(bar, 'downloading'),
    });
    return { path: target, version };
  } finally {
    bar.done();
  }
}

export async function datasetCommand(
  client: ApiClient,
  home: string,
  out: Output,
  args: string[],
  flags: DatasetFlags,
): Promise<number> {
  const [sub, ...rest] = args;
  const need = (n: number) => expectArgs(`dataset ${sub}`, rest, n, DATASET_USAGE);
  switch (sub) {
    case 'add': {
      // "add PATH" or "add NAME PATH"
      if (rest.length === 2 && flags.name === undefined) {
        const [name, source] = rest;
        return datasetCommand(client, home, out, ['add', source], { ...flags, name });
      }
      need(1);
      return client.remote ? addRemote(client, out, rest[0], flags) : add(client, out, rest[0], flags);
    }
    case 'list': {
      need(0);
      const datasets = await client.listDatasets(flags.project);
      out.result(datasets, () =>
        datasets.length === 0
          ? 'No datasets in this project yet: add one with "mllab dataset add PATH".'
          : table(
              ['NAME', 'VERSION', 'SIZE', 'KIND', 'FILES', 'CREATED', 'SHA256'],
              datasets.flatMap((d) =>
                d.versions.map((v) => [
                  d.name,
                  `v${v.version}`,
                  formatBytes(v.size),
                  v.kind,
                  v.fileCount === null ? '' : String(v.fileCount),
                  v.createdAt,
                  v.sha256.slice(0, 12),
                ]),
              ),
            ),
      );
      return 0;
    }
    case 'get': {
      need(1);
      if (client.remote) {
        const got = await getRemote(client, rest[0], path.resolve(flags.to ?? '.'), flags.project);
        out.result(got, () => got.path);
        return 0;
      }
      const ref = parseRef(rest[0]);
      const version = await client.getDatasetVersion(ref.name, ref.version, flags.project);
      const where = flags.to
        ? await exportVersion(version, path.resolve(flags.to))
        : await localPath(home, version, true);
      out.result({ path: where, version }, () => where);
      return 0;
    }
    case 'rm': {
      need(1);
      const ref = parseDatasetRef(rest[0]);
      if (ref.version === 'latest') {
        throw new Error(`Name the version to delete, e.g. "${ref.name}:v1".`);
      }
      const version = await client.getDatasetVersion(ref.name, ref.version, flags.project);
      if (!flags.yes && !process.stdin.isTTY) {
        throw new Error(`Deleting ${describe(version)} needs confirmation: add --yes.`);
      }
      if (!flags.yes) {
        if (!(await confirm(`Delete ${describe(version)}?`))) {
          out.result({ deleted: false }, () => 'Nothing deleted.');
          return 1;
        }
      }
      await client.deleteDatasetVersion(ref.name, ref.version, flags.project, flags.force);
      out.result({ deleted: true, version }, () => `Deleted ${describe(version)}.`);
      return 0;
    }
    default:
      throw new Error(`Unknown command "mllab dataset ${sub ?? ''}". Usage:\n${DATASET_USAGE}`);
  }
}
