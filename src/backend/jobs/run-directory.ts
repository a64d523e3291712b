import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hostInfo } from '../../client/runs/environment';
import { newRunId, writeJsonAtomic } from '../../client/runs/run-writer';
import type { RunManifest, RunStatus } from '../../protocol/experiments';

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
 * ingests it like any run.
 */
export function createRunDirectory(
  home: string,
  job: string,
  projectId: string,
  command: readonly string[],
  cwd: string,
): string {
  const id = newRunId();
  const dir = path.join(home, 'runs', id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), '');
  const manifest: RunManifest = {
    format: 1,
    id,
    name: job,
    project: projectId,
    status: 'running',
    startedAt: new Date().toISOString(),
    endedAt: null,
    exitCode: null,
    // the backend owns the run: the container's processes are not visible from here
    pid: process.pid,
    operator: os.userInfo().username,
    command,
    cwd,
    script: null,
    // the code runs in the container, whose hostname is the run id (see JobRunner): the tracker then
    // does not take the backend's pid for the run's process
    host: { ...(host ??= hostInfo()), hostname: containerHostname(dir) },
    runtime: { container: 'docker' },
    packages: null,
    git: null,
    params: {},
    tags: { job },
  };
  writeJsonAtomic(path.join(dir, 'run.json'), manifest);
  return dir;
}

/** Records the end of a job's run directory (also after a backend restart, when no writer is left). */
export function finishRunDirectory(dir: string, status: RunStatus, exitCode: number | null): void {
  const file = path.join(dir, 'run.json');
  let manifest: RunManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as RunManifest;
  } catch {
    return; // removed with its experiment: nothing to record
  }
  fs.appendFileSync(
    path.join(dir, 'events.jsonl'),
    JSON.stringify({ k: 'status', status, exitCode, t: Date.now() }) + '\n',
  );
  writeJsonAtomic(file, { ...manifest, status, exitCode, endedAt: new Date().toISOString() });
}
