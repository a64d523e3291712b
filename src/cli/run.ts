import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BackendError } from '../client/api-client';
import { connect, type LabTarget } from '../client/connect';
import { localRunsDir } from '../client/runs/journal';
import { RunWriter } from '../client/runs/run-writer';
import { shipClient, Shipper } from '../client/runs/shipper';
import type { RunStatus } from '../protocol/experiments';
import type { Output } from './output';
import { RUN_USAGE } from './usage';

/** `--param lr=0.1` -> { lr: 0.1 }: values that parse as JSON keep their type, others are strings. */
export function parseParams(pairs: readonly string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new Error(`--param takes KEY=VALUE, not "${pair}".`);
    }
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    params[pair.slice(0, eq)] = value;
  }
  return params;
}

/** The first argument that names an existing file: the script to keep a copy of. */
function scriptOf(command: readonly string[], cwd: string): string | undefined {
  return command
    .slice(1)
    .map((a) => path.resolve(cwd, a))
    .find((f) => !f.startsWith('-') && fs.existsSync(f) && fs.statSync(f).isFile());
}

/**
 * Runs any command as an experiment: records the run directory (command, git state, host, params),
 * tees its output into stdout.log/stderr.log, lets the Python and Node clients inside log metrics
 * into the same run (MLLAB_RUN_DIR), and exits with the command's exit code. Against a lab over the
 * network, the run directory is in the local journal (MLLAB_LOCAL_RUNS) and sent to the lab while the
 * command runs; after it, this waits for the rest at most MLLAB_SHIP_TIMEOUT seconds (`mllab sync`
 * sends what is left).
 */
export async function runCommand(
  target: LabTarget,
  out: Output,
  command: string[],
  flags: { name?: string; param?: string[]; project?: string },
): Promise<number> {
  if (command.length === 0) {
    throw new Error(`Give the command to run after "--". Usage:\n${RUN_USAGE}`);
  }
  const cwd = process.cwd();
  const name = flags.name ?? path.basename(scriptOf(command, cwd) ?? command[0]).replace(/\.[^.]+$/, '');
  const home = target.kind === 'local' ? target.home : undefined;
  const journal = target.kind === 'remote' ? localRunsDir() : undefined;
  const writer = RunWriter.create({
    ...(home !== undefined ? { home } : { journal }),
    name,
    project: flags.project ?? null,
    params: parseParams(flags.param ?? []),
    command,
    cwd,
    script: scriptOf(command, cwd),
  });
  const python = path.join(__dirname, '..', 'python');
  // a name inherited from an enclosing run is not a name given to this one
  const inherited = { ...process.env };
  delete inherited.MLLAB_EXPERIMENT_NAME;
  const env = {
    ...inherited,
    ...(home !== undefined ? { MLLAB_HOME: home } : {}),
    MLLAB_RUN_DIR: writer.dir,
    // only a name given here wins over the one the code gives (mllab.experiment("name")); the script's
    // file name is the default that the code's name replaces
    ...(flags.name !== undefined ? { MLLAB_EXPERIMENT_NAME: flags.name } : {}),
    ...(fs.existsSync(python)
      ? { PYTHONPATH: [python, process.env.PYTHONPATH].filter((p) => p && p.length > 0).join(path.delimiter) }
      : {}),
  };
  if (!out.json) {
    process.stderr.write(`mllab: experiment ${name} (${writer.id}) in ${writer.dir}\n`);
  }
  const shipper = target.kind === 'remote' ? new Shipper(shipClient(target.lab), writer.dir, journal!) : undefined;
  // in parallel with the command: a run that no project will take must not wait unnoticed (a lab over
  // the network says so to the shipper, which stops with its message)
  const notice = (home !== undefined ? projectNotice(home, flags.project) : Promise.resolve(undefined)).then(
    (message) => message && process.stderr.write(`mllab: ${message}\n`),
    () => undefined, // no backend could be asked: the run is recorded all the same
  );
  // private like the rest of the run directory, and never written through a link put in its place
  const logFlags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;
  const openLog = (name: string) =>
    fs.createWriteStream('', { fd: fs.openSync(path.join(writer.dir, name), logFlags, 0o600) });
  const stdoutLog = openLog('stdout.log');
  const stderrLog = openLog('stderr.log');
  let status: RunStatus = 'failed';
  let exitCode: number | null = null;
  let interrupted = false;
  /** whether the lab over the network holds all of the run (undefined for a local lab) */
  let sent: boolean | undefined;
  let forward: ((signal: NodeJS.Signals) => void) | undefined;
  // Ctrl+C reaches the command through the terminal already; Stop in the editor sends SIGTERM to this
  // process only, so that one is passed on
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    if (signal === 'SIGTERM') {
      forward?.(signal);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const child = spawn(command[0], command.slice(1), { cwd, env, stdio: ['inherit', 'pipe', 'pipe'] });
    forward = (signal) => child.kill(signal);
    child.stdout.on('data', (d: Buffer) => {
      stdoutLog.write(d);
      (out.json ? process.stderr : process.stdout).write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderrLog.write(d);
      process.stderr.write(d);
    });
    const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
      (resolve) => {
        child.on('error', (error) => resolve({ code: null, signal: null, error }));
        child.on('close', (code, signal) => resolve({ code, signal }));
      },
    );
    if (result.error) {
      stderrLog.write(`mllab: could not start ${command[0]}: ${result.error.message}\n`);
      throw new Error(`Could not start "${command[0]}": ${result.error.message}`);
    }
    exitCode = result.code ?? (result.signal ? 128 + signalNumber(result.signal) : 1);
    status = interrupted || result.signal === 'SIGINT' ? 'interrupted' : exitCode === 0 ? 'completed' : 'failed';
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await Promise.all([stdoutLog, stderrLog].map((s) => new Promise((r) => s.end(r))));
    writer.finish(status, exitCode);
    sent = shipper ? await shipper.finish() : undefined;
  }
  await Promise.race([notice, new Promise((r) => setTimeout(r, NOTICE_WAIT_MS).unref())]);
  const finalName = writer.name;
  out.result(
    { id: writer.id, name: finalName, status, exitCode, dir: writer.dir, ...(sent !== undefined ? { sent } : {}) },
    () => `mllab: experiment ${finalName} ${status} (exit code ${exitCode})`,
  );
  return exitCode ?? 1;
}

/** How long a quick command's exit may wait for the project check (a backend may be starting). */
const NOTICE_WAIT_MS = 5000;

/**
 * Why the lab will not show this run yet, if so: the project it names does not exist, or none is
 * active. Asks the lab home's backend, starting one like the other commands do (it then ingests the
 * run live, and stops when idle).
 */
async function projectNotice(home: string, project: string | undefined): Promise<string | undefined> {
  const { client } = await connect({ home, backendScript: path.join(__dirname, 'backend.js') });
  try {
    if (project !== undefined) {
      try {
        await client.getProject(project);
        return undefined;
      } catch (e) {
        if (e instanceof BackendError && e.status === 404) {
          return `there is no project "${project}": this run is recorded and waits for it; it appears in ML Lab once the project is created ("mllab project create ${project}").`;
        }
        throw e;
      }
    }
    if ((await client.activeProject()).projectId !== null) {
      return undefined;
    }
    return 'no project is active: this run is recorded and waits for one; it appears in ML Lab once a project is created (the first becomes active: "mllab project create NAME") or set active ("mllab project use NAME").';
  } finally {
    client.dispose();
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return numbers[signal] ?? 0;
}
