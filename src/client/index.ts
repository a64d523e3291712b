/**
 * The Node client of ML Lab, with the same shape as the Python client:
 *
 *   const mllab = require('mllab');
 *   const dir = await mllab.dataset('images');            // unpacked folder of the latest version
 *   const csv = await mllab.dataset('iris:v2');           // path of a single-file version
 *   await mllab.addDataset('data/train.csv', { name: 'train' });
 *
 * The lab home is the `home` option, else MLLAB_HOME, else the nearest `.mllab` folder at or above
 * the working directory. A backend is started in the background when none runs.
 */
import * as path from 'path';
import { resolveHome } from '../common/home';
import { parseDatasetRef } from '../protocol/dataset-ref';
import type { Dataset, DatasetVersion } from '../protocol/datasets';
import { connect } from './connect';
import { localPath } from './datasets';

export type { Dataset, DatasetVersion } from '../protocol/datasets';
export { BackendError } from './api-client';

export interface ClientOptions {
  readonly home?: string;
  /** project id or name; default: the lab home's active project */
  readonly project?: string;
}

async function withBackend<T>(
  options: ClientOptions,
  fn: (home: string, c: Awaited<ReturnType<typeof connect>>) => Promise<T>,
): Promise<T> {
  const home = resolveHome(options.home);
  const connection = await connect({ home, backendScript: path.join(__dirname, 'backend.js') });
  try {
    return await fn(home, connection);
  } finally {
    connection.client.dispose();
  }
}

/** The local path of a dataset version: a file, or (for a package, unless `unpack` is false) a folder. */
export function dataset(
  name: string,
  options: ClientOptions & { version?: number; unpack?: boolean } = {},
): Promise<string> {
  const ref = parseDatasetRef(name);
  if (options.version !== undefined && ref.version !== 'latest') {
    throw new Error(`Give the version once: either "${name}" or the version option.`);
  }
  return withBackend(options, async (home, { client }) => {
    const version = await client.getDatasetVersion(ref.name, options.version ?? ref.version, options.project);
    return localPath(home, version, options.unpack ?? true);
  });
}

/** Adds a file or folder as the next version of a dataset. */
export function addDataset(
  source: string,
  options: ClientOptions & { name?: string; description?: string; tags?: string[] } = {},
): Promise<DatasetVersion> {
  return withBackend(options, (_home, { client }) =>
    client.addDataset({
      path: path.resolve(source),
      name: options.name,
      description: options.description,
      tags: options.tags,
      project: options.project,
    }),
  );
}

/** The project's datasets with their versions. */
export function datasets(options: ClientOptions = {}): Promise<Dataset[]> {
  return withBackend(options, (_home, { client }) => client.listDatasets(options.project));
}
