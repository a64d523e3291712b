// The `mllab` command's start-up cost, side by side with a bare `node -e 0` in the same run.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { startBackend, tempHome } from './http-bench';
import { median, report } from './stats';

const RUNS = Number(process.env.MLLAB_BENCH_RUNS ?? 7) * 3;
const BIN = path.resolve(__dirname, '..', '..', 'bin', 'mllab.js');

/** Median wall time of a process from spawn to exit, alternating with the reference to share noise. */
function timeCommands(a: string[], b: string[]): [number, number] {
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < RUNS; i++) {
    [a, b].forEach((args, k) => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
      times[k].push(performance.now() - t0);
      if (r.status !== 0) {
        throw new Error(`node ${args.join(' ')} exited with ${r.status}`);
      }
    });
  }
  return [median(times[0]), median(times[1])];
}

export async function cliStartupBench(): Promise<void> {
  const home = tempHome();
  try {
    const [help, bare1] = timeCommands([BIN, '--version'], ['-e', '0']);
    report('`mllab --version`, spawn to exit (median)', help, bare1, 'ms', 'node -e 0');
    const backend = await startBackend(home);
    try {
      const [status, bare2] = timeCommands([BIN, 'status', '--home', home], ['-e', '0']);
      report('`mllab status` against a running backend, spawn to exit (median)', status, bare2, 'ms', 'node -e 0');
      const [list, bare3] = timeCommands([BIN, 'project', 'list', '--home', home], ['-e', '0']);
      report('`mllab project list`, spawn to exit (median)', list, bare3, 'ms', 'node -e 0');
    } finally {
      await backend.stop();
    }
  } finally {
    fs.rmSync(path.dirname(home), { recursive: true, force: true });
  }
}
