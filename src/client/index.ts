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
import * as fs from 'fs';
import * as path from 'path';
import { resolveHome } from '../common/home';
import { parseDatasetRef } from '../protocol/dataset-ref';
import type { Dataset, DatasetVersion } from '../protocol/datasets';
import { connect } from './connect';
import { localPath } from './datasets';
import { Experiment } from './runs/experiment';
import { RunWriter } from './runs/run-writer';

export type { Dataset, DatasetVersion } from '../protocol/datasets';
export type { Model, ModelVersion, ModelVersionDetails } from '../protocol/models';
export { BackendError } from './api-client';
export { Experiment } from './runs/experiment';

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

/**
 * Starts recording a run (in code where a callback does not fit, e.g. a notebook); call `end()` when
 * done, or it ends at process exit. Needs no backend: the run directory is ingested when one runs.
 * Inside `mllab run`, the points go to that command's run.
 */
export function startExperiment(
  name: string,
  options: ClientOptions & { params?: Record<string, unknown> } = {},
): Experiment {
  const attached = process.env.MLLAB_RUN_DIR;
  const writer = attached
    ? RunWriter.attach(attached)
    : RunWriter.create({
        home: resolveHome(options.home),
        name,
        project: options.project ?? null,
        params: options.params ?? {},
        command: process.argv,
        cwd: process.cwd(),
        script: process.argv[1] && fs.existsSync(process.argv[1]) ? process.argv[1] : undefined,
      });
  const given = options.params ?? {};
  if (!attached) {
    return new Experiment(writer, given);
  }
  // params given to `mllab run` win over the defaults in code; only defaults it did not set are logged
  const manifest = JSON.parse(fs.readFileSync(path.join(attached, 'run.json'), 'utf8')) as {
    params?: Record<string, unknown>;
  };
  const fromRun = manifest.params ?? {};
  const exp = new Experiment(writer, { ...given, ...fromRun });
  exp.logParams(Object.fromEntries(Object.entries(given).filter(([k]) => !(k in fromRun))));
  return exp;
}

/** Records `fn` as one run: completed when it returns, failed (and rethrown) when it throws. */
export async function experiment<T>(
  name: string,
  options: ClientOptions & { params?: Record<string, unknown> },
  fn: (exp: Experiment) => T | Promise<T>,
): Promise<T> {
  const exp = startExperiment(name, options);
  try {
    const result = await fn(exp);
    exp.end('completed', 0);
    return result;
  } catch (e) {
    exp.setTag('error', String(e));
    exp.end('failed', 1);
    throw e;
  }
}
