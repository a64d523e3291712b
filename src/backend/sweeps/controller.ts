import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { pythonClientFolder } from '../jobs/run-directory';
import { sweepDir } from './status';

/** The lab as a process of this machine reaches it: 127.0.0.1 on this port, with this bearer token. */
export interface LabAddress {
  readonly port: number;
  readonly token: string;
}

export interface ControllerHandlers {
  /** the controller rewrote status.json */
  readonly onChange: () => void;
  /** it exited (by itself: finished, failed, paused with nothing running; or killed) */
  readonly onExit: (code: number | null) => void;
}

/**
 * The Python process that runs one sweep's trials (`python -m mllab sweep-controller`,
 * python/mllab/_sweep_controller.py). It says `changed` on stdout after each rewrite of status.json;
 * its stderr goes to `controller.log` in the sweep's folder. It ends by itself when its parent (this
 * backend) is gone; the trials live on in their own sessions and the next controller attaches them.
 */
export class ControllerProcess {
  private readonly child: ChildProcess;
  private exited = false;

  constructor(
    home: string,
    sweepId: string,
    python: string,
    handlers: ControllerHandlers,
    /** where the controller reaches this lab (its loopback port and own token): it starts job trials there */
    lab?: LabAddress,
  ) {
    const dir = sweepDir(home, sweepId);
    const log = fs.openSync(path.join(dir, 'controller.log'), 'a', 0o600);
    const client = pythonClientFolder();
    try {
      this.child = spawn(python, ['-m', 'mllab', 'sweep-controller', '--home', home, '--sweep', sweepId], {
        cwd: dir,
        env: {
          ...process.env,
          ...(client ? { PYTHONPATH: [client, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) } : {}),
          PYTHONUNBUFFERED: '1',
          // the controller takes these out of its environment before any trial starts (_sweep_job.py)
          ...(lab ? { MLLAB_SWEEP_LAB_PORT: String(lab.port), MLLAB_SWEEP_LAB_TOKEN: lab.token } : {}),
        },
        stdio: ['ignore', 'pipe', log],
      });
    } finally {
      fs.closeSync(log);
    }
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      if (line === 'changed') {
        handlers.onChange();
      }
    });
    this.child.on('error', () => undefined); // followed by 'close'
    this.child.on('close', (code) => {
      this.exited = true;
      handlers.onExit(code);
    });
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Ends the controller at once (the backend stops); its trials go on and are attached again later. */
  kill(): void {
    if (!this.exited) {
      this.child.kill('SIGTERM');
    }
  }
}
