/**
 * The Node client of ML Lab, with the same shape as the Python client:
 *
 *   const mllab = require('mllab');
 *   const dir = await mllab.dataset('images');            // unpacked folder of the latest version
 *   const csv = await mllab.dataset('iris:v2');           // path of a single-file version
 *   await mllab.addDataset('data/train.csv', { name: 'train' });
 *
 * The lab is the `home` option (a local lab home); else a lab served by URL (MLLAB_URL with
 * MLLAB_TOKEN and MLLAB_CA_FILE); else MLLAB_HOME; else the login stored by `mllab login`; else the
 * nearest `.mllab` folder at or above the working directory. For a local lab, a backend is started in
 * the background when none runs. Against a lab served by URL, an experiment is recorded in a local
 * journal (MLLAB_LOCAL_RUNS, else ~/.cache/mllab/runs) and sent to the lab while it runs; what needs
 * the lab's files on this machine (a dataset's local path, adding one from a path) is not available yet.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseDatasetRef } from '../protocol/dataset-ref';
import type { Dataset, DatasetVersion } from '../protocol/datasets';
import type { ApiClient } from './api-client';
import { connect, connectRemote, labTarget, notRemote, type LabTarget } from './connect';
import { localPath } from './datasets';
import { Experiment } from './runs/experiment';
import { localRunsDir } from './runs/journal';
import { RunWriter, type NewRun } from './runs/run-writer';
import { shipClient, Shipper } from './runs/shipper';

export type { Dataset, DatasetVersion } from '../protocol/datasets';
export type { Model, ModelVersion, ModelVersionDetails } from '../protocol/models';
export { BackendError } from './api-client';
export { Experiment } from './runs/experiment';

export interface ClientOptions {
  readonly home?: string;
  /** project id or name; default: the lab home's active project */
  readonly project?: string;
}

/** The lab home on this machine, or the error saying that `what` needs one. */
function localHome(target: LabTarget, what: string): string {
  if (target.kind === 'remote') {
    throw notRemote(what, target.lab, 'pass the home option to use a local lab home.');
  }
  return target.home;
}

/** Runs `fn` with the lab of `options`; a mistake in choosing it (a bad MLLAB_URL) rejects the promise. */
async function inTarget<T>(options: ClientOptions, fn: (target: LabTarget) => Promise<T>): Promise<T> {
  return fn(labTarget(options));
}

async function withClient<T>(target: LabTarget, fn: (client: ApiClient) => Promise<T>): Promise<T> {
  const { client } =
    target.kind === 'remote'
      ? await connectRemote(target.lab)
      : await connect({ home: target.home, backendScript: path.join(__dirname, 'backend.js') });
  try {
    return await fn(client);
  } finally {
    client.dispose();
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
  return inTarget(options, async (target) => {
    const home = localHome(target, "A dataset's local path");
    return withClient(target, async (client) => {
      const version = await client.getDatasetVersion(ref.name, options.version ?? ref.version, options.project);
      return localPath(home, version, options.unpack ?? true);
    });
  });
}

/** Adds a file or folder as the next version of a dataset. */
export function addDataset(
  source: string,
  options: ClientOptions & { name?: string; description?: string; tags?: string[] } = {},
): Promise<DatasetVersion> {
  return inTarget(options, (target) => {
    localHome(target, 'Adding a dataset from a path');
    return withClient(target, (client) =>
      client.addDataset({
        path: path.resolve(source),
        name: options.name,
        description: options.description,
        tags: options.tags,
        project: options.project,
      }),
    );
  });
}

/** The project's datasets with their versions. */
export function datasets(options: ClientOptions = {}): Promise<Dataset[]> {
  return inTarget(options, (target) => withClient(target, (client) => client.listDatasets(options.project)));
}

/**
 * Starts recording a run (in code where a callback does not fit, e.g. a notebook); call `end()` when
 * done, or it ends at process exit. Needs no backend: the run directory is ingested when one runs.
 * Against a lab served by URL, the run directory is a local journal's, sent to the lab while the run
 * goes on (logging never waits for the network); `end()` lets the process wait for the rest at most
 * MLLAB_SHIP_TIMEOUT seconds (`await exp.sent()` says when), and `mllab sync` sends what is left.
 * Inside `mllab run`, the points go to that command's run (which sends it).
 */
export function startExperiment(
  name: string,
  options: ClientOptions & { params?: Record<string, unknown> } = {},
): Experiment {
  const attached = process.env.MLLAB_RUN_DIR;
  const given = options.params ?? {};
  if (!attached) {
    const target = labTarget(options);
    const run: Omit<NewRun, 'home' | 'journal'> = {
      name,
      project: options.project ?? null,
      params: given,
      command: process.argv,
      cwd: process.cwd(),
      script: process.argv[1] && fs.existsSync(process.argv[1]) ? process.argv[1] : undefined,
    };
    if (target.kind === 'local') {
      return new Experiment(RunWriter.create({ ...run, home: target.home }), given);
    }
    const journal = localRunsDir();
    const writer = RunWriter.create({ ...run, journal });
    return new Experiment(writer, given, new Shipper(shipClient(target.lab), writer.dir, journal));
  }
  const writer = RunWriter.attach(attached);
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
    await exp.sent();
    return result;
  } catch (e) {
    exp.setTag('error', String(e));
    exp.end('failed', 1);
    await exp.sent();
    throw e;
  }
}
