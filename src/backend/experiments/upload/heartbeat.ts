import * as fs from 'fs';
import * as path from 'path';
import { RUN_FILE_MODE } from '../../../common/run-directory/files';

/**
 * The heartbeat of a run sent over the network: a file of the lab's own in the run directory, its
 * change time the last request of the run's shipper (any events request, an empty one included, which
 * a shipper with nothing new sends every few seconds). Its presence says the run is an uploaded one:
 * its pid is that of a process on another machine, so the lab cannot ask whether it lives; instead a
 * running run whose shipper fell silent for `heartbeatTimeoutMs` is marked interrupted, as a local run
 * whose process died is.
 */
export const HEARTBEAT_FILE = '.shipper-heartbeat';

/** Seconds without a request from a running run's shipper before the lab marks it interrupted. */
export const HEARTBEAT_TIMEOUT_ENV = 'MLLAB_RUN_HEARTBEAT_TIMEOUT';
const DEFAULT_HEARTBEAT_TIMEOUT_S = 60;

/** MLLAB_RUN_HEARTBEAT_TIMEOUT in ms (at least 1 s), else 60 s. */
export function heartbeatTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env[HEARTBEAT_TIMEOUT_ENV]);
  return Number.isFinite(seconds) && seconds >= 1 ? seconds * 1000 : DEFAULT_HEARTBEAT_TIMEOUT_S * 1000;
}

/** Records a request of the run's shipper now (the file is created, never followed if a link). */
export function beat(runDir: string): void {
  const file = path.join(runDir, HEARTBEAT_FILE);
  const now = new Date();
  try {
    fs.lutimesSync(file, now, now);
  } catch {
    try {
      fs.closeSync(
        fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0), RUN_FILE_MODE),
      );
    } catch {
      // the run goes on being received; only its liveness is not recorded
    }
  }
}

/** When the run's shipper was last heard (ms since the epoch), or undefined for a run not sent over the network. */
export function lastBeat(runDir: string): number | undefined {
  const st = fs.lstatSync(path.join(runDir, HEARTBEAT_FILE), { throwIfNoEntry: false });
  return st?.isFile() ? st.mtimeMs : undefined;
}

/**
 * The beats of the runs being received, each recorded at most once a second: a run logging live
 * sends a few requests a second, and the timeout is counted in tens of seconds.
 */
export class Heartbeats {
  private readonly last = new Map<string, number>();

  beat(id: string, runDir: string): void {
    const now = Date.now();
    if (now - (this.last.get(id) ?? 0) < 1000) {
      return;
    }
    if (this.last.size > 10_000) {
      this.last.clear(); // runs long gone: at worst one more write each
    }
    this.last.set(id, now);
    beat(runDir);
  }
}
