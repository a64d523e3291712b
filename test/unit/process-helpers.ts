import { ChildProcess, fork, spawn, spawnSync } from 'child_process';
import * as path from 'path';
import { ApiClient } from '../../src/client/api-client';
import { isProcessAlive, readRegistration } from '../../src/common/home';
import type { BackendReadyMessage } from '../../src/protocol/api';
import { DIST, REPO, tempHome } from './helpers';

/** Starts dist/backend.js for `home` as its own process and waits until it answers. */
export async function spawnBackend(
  home: string,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; client: ApiClient }> {
  const child = fork(path.join(DIST, 'backend.js'), ['--home', home], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const message = await new Promise<BackendReadyMessage>((resolve, reject) => {
    child.once('message', (m: BackendReadyMessage) => resolve(m));
    child.once('exit', (code) => reject(new Error(`backend exited with ${code}: ${stderr}`)));
  });
  if (message.type !== 'ready') {
    throw new Error(message.message);
  }
  child.removeAllListeners('exit');
  const registration = readRegistration(home)!;
  return { child, client: new ApiClient(registration.port, registration.token) };
}

export function waitForExit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve(child.exitCode);
    } else {
      child.once('exit', (code) => resolve(code));
    }
  });
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  json: <T>() => T;
}

export interface CliOptions {
  input?: string;
  /** set over this process's environment (an empty value unsets a variable for the CLI) */
  env?: Record<string, string>;
  cwd?: string;
}

function cliEnv(env: Record<string, string> | undefined): NodeJS.ProcessEnv {
  return { ...process.env, ...env };
}

/** Runs bin/mllab.js (the built CLI) synchronously. */
export function cli(args: string[], options: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'mllab.js'), ...args], {
    encoding: 'utf8',
    input: options.input ?? '',
    timeout: 30000,
    env: cliEnv(options.env),
    cwd: options.cwd,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: <T>() => JSON.parse(r.stdout) as T };
}

/**
 * Runs bin/mllab.js (the built CLI) without blocking this process, so that a server the test runs
 * in this process can answer it.
 */
export function cliAsync(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin', 'mllab.js'), ...args], {
      env: cliEnv(options.env),
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, json: <T>() => JSON.parse(stdout) as T });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Stops the backend a test left running for `home` (CLI commands start one in the background) and
 * waits for it to exit, so that removing the home does not race with its last snapshot.
 */
export async function stopBackendOf(home: string): Promise<void> {
  const r = readRegistration(home);
  if (r && isProcessAlive(r.pid)) {
    process.kill(r.pid, 'SIGTERM');
    for (let i = 0; i < 100 && isProcessAlive(r.pid); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Creates the project "Lab" through the CLI (which starts a backend) and makes it active. */
export function activeLabProject(home: string): void {
  for (const args of [
    ['project', 'create', 'Lab'],
    ['project', 'use', 'Lab'],
  ]) {
    const r = cli([...args, '--home', home]);
    if (r.status !== 0) {
      throw new Error(`mllab ${args.join(' ')} failed: ${r.stderr}`);
    }
  }
}

/**
 * Per test of the built CLI: a fresh lab home with an active project (given to `use` as the home and
 * the temp folder holding it), its background backend stopped and the folder removed afterwards.
 */
export function eachCliLab(use: (home: string, root: string) => void): void {
  let home = '';
  let cleanup: () => void = () => undefined;
  beforeEach(() => {
    ({ home, cleanup } = tempHome());
    activeLabProject(home);
    use(home, path.dirname(home));
  });
  afterEach(async () => {
    await stopBackendOf(home);
    cleanup();
  });
}
