import { randomUUID } from 'crypto';
import * as path from 'path';
import type { ApiClient } from '../client/api-client';
import { exportVersion, localPath } from '../client/datasets';
import { EventStream } from '../client/event-stream';
import { formatDatasetRef, parseDatasetRef } from '../protocol/dataset-ref';
import type { DatasetVersion } from '../protocol/datasets';
import { confirm } from './confirm';
import { expectArgs, Output, table } from './output';
import { formatBytes, ProgressBar } from './progress';
import { DATASET_USAGE } from './usage';

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
    case 'add':
      need(1);
      return add(client, out, rest[0], flags);
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
      const ref = parseDatasetRef(rest[0]);
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
