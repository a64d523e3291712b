import * as fs from 'fs';
import * as path from 'path';
import { hostInfo } from '../../common/run-directory/environment';
import { createRunDir, RUN_FILE_MODE, writeJsonAtomic } from '../../common/run-directory/files';
import { startedRunManifest } from '../../common/run-directory/manifest';
import type { RunJobRequest } from '../../protocol/containers';
import { parseDatasetRef } from '../../protocol/dataset-ref';
import type { RunManifest, RunStatus } from '../../protocol/experiments';
import { RUN_LIMITS } from '../../protocol/limits';
import { openInside } from '../files/copy';

/** Where the run directory and the lab's content appear inside a job's container. */
export const CONTAINER_RUN_DIR = '/mllab/run';
export const CONTAINER_HOME = '/mllab/home';
export const CONTAINER_WORKSPACE = '/workspace';

/** The hostname of a job run's container: its run directory's id (letters, digits and dashes). */
export function containerHostname(runDir: string): string {
  return path.basename(runDir);
}

/** The machine's description, read once: it spawns nvidia-smi, too slow to repeat for every run. */
let host: RunManifest['host'] | undefined;

/**
 * Creates the experiment run directory of a job run, as `mllab run` does for a local command: the
 * Python client inside the container appends to it through MLLAB_RUN_DIR, and the backend's tracker
 * ingests it like any run. `given` params and tags (POST /api/jobs/:name/runs) are written into
 * run.json, where the client reads its `exp.params` as under `mllab run --param`.
 */
export function createRunDirectory(
  home: string,
  job: string,
  projectId: string,
  command: readonly string[],
  cwd: string,
  given: RunJobRequest = {},
): string {
  const { id, dir } = createRunDir(home);
  fs.writeFileSync(path.join(dir, 'events.jsonl'), '', { flag: 'wx', mode: RUN_FILE_MODE });
  // the backend owns the run: the container's processes are not visible from here, so the
  // manifest's pid is the backend's
  const manifest = startedRunManifest({
    id,
    name: job,
    project: projectId,
    command,
    cwd,
    script: null,
    // the code runs in the container, whose hostname is the run id (see the container engine): the tracker then
    // does not take the backend's pid for the run's process
    host: { ...(host ??= hostInfo()), hostname: containerHostname(dir) },
    runtime: { container: 'docker' },
    git: null,
    params: { ...given.params },
    tags: { ...given.tags, job },
  });
  writeJsonAtomic(path.join(dir, 'run.json'), manifest);
  return dir;
}

/**
 * Records the end of a job's run directory (also after a backend restart, when no writer is left).
 * The job wrote the folder: nothing in it is followed if it is a symbolic link (run.json is read
 * without following one and replaced by a rename; the status line is appended only to a regular
 * events.jsonl). Returns a warning when something was refused.
 */
export function finishRunDirectory(dir: string, status: RunStatus, exitCode: number | null): string | undefined {
  const file = path.join(dir, 'run.json');
  let manifest: RunManifest;
  let warning: string | undefined;
  try {
    const { fd } = openInside(dir, 'run.json', RUN_LIMITS.manifestBytes);
    try {
      manifest = JSON.parse(fs.readFileSync(fd, 'utf8')) as RunManifest;
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if (!fs.existsSync(dir)) {
      return undefined; // removed with its experiment: nothing to record
    }
    // replaced by the job with something that is not its manifest: the backend writes a new one
    manifest = minimalManifest(dir);
    warning = `run.json of ${path.basename(dir)} was not read (${(e as Error).message}): it was written again`;
  }
  const line = JSON.stringify({ k: 'status', status, exitCode, t: Date.now() }) + '\n';
  let fd: number | undefined;
  try {
    fd = fs.openSync(
      path.join(dir, 'events.jsonl'),
      fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | NO_FOLLOW | NO_BLOCK,
      RUN_FILE_MODE,
    );
    if (!fs.fstatSync(fd).isFile()) {
      warning = `${warning ? `${warning}; ` : ''}events.jsonl of ${path.basename(dir)} is not a regular file: the end was recorded in run.json only`;
    } else {
      fs.writeSync(fd, line);
    }
  } catch (e) {
    warning = `${warning ? `${warning}; ` : ''}events.jsonl of ${path.basename(dir)} was not written (${(e as Error).message}): the end was recorded in run.json only`;
  } finally {
    if (fd !== undefined) {
      fs.closeSync(fd);
    }
  }
  const record = typeof manifest === 'object' && manifest !== null ? manifest : minimalManifest(dir);
  writeJsonAtomic(file, { ...record, status, exitCode, endedAt: new Date().toISOString() });
  return warning;
}

const NO_FOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const NO_BLOCK = fs.constants.O_NONBLOCK ?? 0;

/** The manifest of a job run whose run.json is gone or unreadable: enough to ingest its end. */
function minimalManifest(dir: string): RunManifest {
  const id = path.basename(dir);
  return startedRunManifest({
    id,
    name: id,
    project: null,
    command: [],
    cwd: '',
    script: null,
    host: { ...(host ??= hostInfo()), hostname: containerHostname(dir) },
    runtime: { container: 'docker' },
    git: null,
    params: {},
    tags: {},
  });
}

/** A dataset version of the job's project: what a job may be given to read. */
export interface DatasetBlob {
  readonly name: string;
  readonly version: number;
  readonly sha256: string;
  /** a single file, or a package (a folder stored as a zip) */
  readonly kind?: 'file' | 'package';
}

/**
 * The index of the dataset versions a job may read, next to their blobs
 * (`/mllab/home/blobs/datasets.json`): the Python client's `mllab.dataset("name")` looks versions
 * up in it when no backend runs for its lab home, as inside a container.
 */
export const JOB_DATASETS_INDEX = 'datasets.json';

/** Where ML Lab's Python client appears inside job and service containers (on PYTHONPATH). */
export const CONTAINER_PYTHON = '/mllab/python';

let pythonClient: string | null | undefined;

/**
 * The folder that holds ML Lab's Python client (`mllab/`): `python/` next to the bundle (dist/ ->
 * the extension or package root) or the repository's (tests). Null when it is not there.
 */
export function pythonClientFolder(): string | null {
  if (pythonClient !== undefined) {
    return pythonClient;
  }
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'python', 'mllab', '__init__.py'))) {
      return (pythonClient = path.join(dir, 'python'));
    }
    if (path.dirname(dir) === dir) {
      return (pythonClient = null);
    }
  }
}

/**
 * What every job and service container gets so that `import mllab` works in any image with Python:
 * the client mounted read-only and put first on PYTHONPATH (after the definition's own entries).
 */
export function pythonClientMount(env: Readonly<Record<string, string>>): {
  mounts: { hostPath: string; containerPath: string; readOnly: true }[];
  env: Record<string, string>;
} {
  const folder = pythonClientFolder();
  if (!folder) {
    return { mounts: [], env: {} };
  }
  const own = env.PYTHONPATH;
  return {
    mounts: [{ hostPath: folder, containerPath: CONTAINER_PYTHON, readOnly: true }],
    env: { PYTHONPATH: own ? `${own}:${CONTAINER_PYTHON}` : CONTAINER_PYTHON },
  };
}

/**
 * A job's environment variable naming the datasets it reads, e.g. "iris, churn:v2" (a name alone is
 * its latest version): only those are mounted. Without it, every dataset version of the job's
 * project is.
 */
export const JOB_DATASETS_ENV = 'MLLAB_DATASETS';

/** Where the blobs a job may read are gathered, per run (removed when the run ends). */
export function jobBlobsDir(home: string, runId: string): string {
  return path.join(home, 'jobs', runId, 'blobs');
}

/**
 * Gathers the blobs a job may read into a folder of its own, mounted read-only at
 * `/mllab/home/blobs` (the layout of the lab's store, `sha256/ab/cdef...`): the job sees the
 * dataset versions of its project (or those its MLLAB_DATASETS names), not the whole store with
 * other projects' datasets and every model. The files are hard links (no copy; the store's blobs are
 * read-only); a blob that cannot be linked is returned to be mounted on its own.
 */
export function gatherJobBlobs(
  home: string,
  runId: string,
  versions: readonly DatasetBlob[],
  wanted: string | undefined,
): { dir: string; unlinked: { hostPath: string; containerPath: string }[]; missing: string[] } {
  const dir = jobBlobsDir(home, runId);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'sha256'), { recursive: true, mode: 0o700 });
  let chosen = versions;
  const missing: string[] = [];
  if (wanted !== undefined && wanted.trim() !== '') {
    const picked = new Map<string, DatasetBlob>();
    for (const ref of wanted.split(/[,\s]+/).filter((r) => r !== '')) {
      const { name, version } = parseDatasetRef(ref);
      const of = versions.filter((v) => v.name.toLowerCase() === name.toLowerCase());
      const v =
        version === 'latest'
          ? of.reduce<DatasetBlob | undefined>((a, b) => (a && a.version > b.version ? a : b), undefined)
          : of.find((x) => x.version === version);
      if (v) {
        picked.set(v.sha256, v);
      } else {
        missing.push(ref);
      }
    }
    chosen = [...picked.values()];
  }
  const unlinked: { hostPath: string; containerPath: string }[] = [];
  const index = chosen
    .filter((v) => /^[0-9a-f]{64}$/.test(v.sha256))
    .map((v) => ({ name: v.name, version: v.version, sha256: v.sha256, kind: v.kind ?? 'file' }));
  fs.writeFileSync(path.join(dir, JOB_DATASETS_INDEX), JSON.stringify({ versions: index }, null, 2) + '\n', {
    mode: 0o644,
  });
  for (const sha256 of new Set(chosen.map((v) => v.sha256))) {
    if (!/^[0-9a-f]{64}$/.test(sha256)) {
      continue;
    }
    const relative = path.join('sha256', sha256.slice(0, 2), sha256.slice(2));
    const source = path.join(home, 'blobs', relative);
    const target = path.join(dir, relative);
    fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
    try {
      fs.linkSync(source, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        continue; // not stored (any more): the job cannot read it either way
      }
      unlinked.push({
        hostPath: source,
        containerPath: `${CONTAINER_HOME}/blobs/${relative.split(path.sep).join('/')}`,
      });
    }
  }
  return { dir, unlinked, missing };
}
