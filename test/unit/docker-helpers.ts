import * as http from 'http';
import { spawnSync } from 'child_process';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { DockerRuntime } from '../../src/backend/runtime/docker';
import { ApiClient } from '../../src/client/api-client';
import type { JobRun, JobRunState } from '../../src/protocol/containers';
import { REPO, startBackend, tempHome, TEST_TOKEN } from './helpers';

/** The local test image built by scripts/ensure-docker.sh (busybox-static, nothing pulled). */
export const BUSYBOX = 'mllab-test/busybox:1';

let ready: Promise<string | undefined> | undefined;

/**
 * Undefined when Docker answers and has the test image; else why not. Runs scripts/ensure-docker.sh
 * once when it does not (as `npm test` does in its pretest step), so the tests really run.
 */
export function dockerProblem(): Promise<string | undefined> {
  ready ??= (async () => {
    const runtime = new DockerRuntime({ callTimeoutMs: 5000 });
    const check = async () => {
      try {
        await runtime.ping();
        return (await runtime.image(BUSYBOX)) ? undefined : `the image ${BUSYBOX} is missing`;
      } catch (e) {
        return (e as Error).message;
      }
    };
    if ((await check()) === undefined) {
      return undefined;
    }
    const r = spawnSync('bash', [path.join(REPO, 'scripts', 'ensure-docker.sh')], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    const problem = await check();
    return problem === undefined
      ? undefined
      : `${problem}; scripts/ensure-docker.sh said: ${r.stderr.trim().slice(-500)}`;
  })();
  return ready;
}

/** Skips the suite, saying why, only when Docker cannot be started on this machine. */
export function requireDocker(suite: Mocha.Context): Promise<void> {
  return dockerProblem().then((problem) => {
    if (problem) {
      process.stderr.write(`Docker tests skipped: Docker cannot be started here: ${problem}\n`);
      suite.skip();
    }
  });
}

/** A backend for `home` with the project "Lab" active, and its client. */
export async function labBackend(home: string): Promise<{ backend: Backend; client: ApiClient }> {
  const backend = await startBackend(home);
  const client = new ApiClient(backend.port, TEST_TOKEN);
  const project = await client.createProject('Lab');
  await client.setActiveProject(project.id);
  for (let i = 0; i < 200 && !(await client.dockerStatus()).available; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return { backend, client };
}

/** Polls an async `probe` every 50 ms until it returns a value, which is returned. */
export async function until<T>(probe: () => Promise<T | undefined>, ms = 30000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > end) {
      throw new Error(`${what} not met in ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls a run until its state is one of `states` (runs end through Docker's events, not this poll). */
export async function waitForRun(
  client: ApiClient,
  runId: string,
  states: readonly JobRunState[],
  ms = 30000,
): Promise<JobRun> {
  let last: JobRun | undefined;
  return until(
    async () => {
      last = await client.getJobRun(runId);
      return states.includes(last.state) ? last : undefined;
    },
    ms,
    `run ${runId} in state ${states.join('/')}`,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: it is ${last?.state} (${last?.reason ?? ''})`);
  });
}

/** Removes every container labelled with `home` (a failed test may leave some). */
export async function removeContainersOf(home: string): Promise<void> {
  const runtime = new DockerRuntime();
  for (const c of await runtime.list({ 'dev.mllab.home': home }).catch(() => [])) {
    await runtime.remove(c.id).catch(() => undefined);
  }
}

export async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
  }
  return text;
}

/** What each test of a Docker suite gets: a temp lab home with a backend on it and an active project. */
export interface DockerLab {
  home: string;
  /** replaceable: a test that restarts the backend puts the new one here (it is stopped after the test) */
  backend: Backend;
  client: ApiClient;
}

/**
 * Registers the hooks of a suite against the real Docker Engine: skips it with a message when Docker
 * cannot be started, gives each test a fresh lab (`DockerLab`), and afterwards stops its backend and
 * removes its containers and files.
 */
export function dockerLabPerTest(): DockerLab {
  const lab = {} as DockerLab;
  let cleanup: () => void = () => undefined;
  before(async function () {
    await requireDocker(this);
  });
  beforeEach(async () => {
    const temp = tempHome();
    cleanup = temp.cleanup;
    lab.home = temp.home;
    Object.assign(lab, await labBackend(lab.home));
  });
  afterEach(async () => {
    lab.client.dispose();
    await lab.backend.stop('test done');
    await removeContainersOf(lab.home);
    cleanup();
  });
  return lab;
}

/** GET http://127.0.0.1:PORT/PATH (a new connection each time, 5 s at most): its status and body. */
export function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('timeout', function (this: http.ClientRequest) {
        this.destroy(new Error(`GET ${urlPath} on port ${port}: no answer in 5 s`));
      })
      .on('error', reject);
  });
}
