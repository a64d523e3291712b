import * as fs from 'fs';
import * as path from 'path';
import type { ApiClient } from '../client/api-client';
import { sweepRoutes } from '../protocol/routes/sweeps';
import type { Sweep, SweepDetails, SweepTrial } from '../protocol/sweeps';
import { expectArgs, Output, table } from './output';
import { SWEEP_USAGE } from './usage';

export interface SweepFlags {
  readonly project?: string;
  readonly parallel?: string;
  readonly trials?: string;
  readonly wait?: boolean;
}

/** How often `--wait` asks how the sweep is going (it prints a line when the counts change). */
const WAIT_POLL_MS = 500;

function count(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--${flag} takes a whole number of at least 1, not "${value}".`);
  }
  return n;
}

const value = (v: number | null) => (v === null ? '-' : String(Number(v.toPrecision(6))));

/** "12/20 done, 2 running, 3 pruned, 1 failed; best 0.0123 (trial 7)" */
export function progressLine(s: Sweep): string {
  const c = s.counts;
  const best = s.best ? `; best ${s.definition.metric.name} ${value(s.best.value)} (trial ${s.best.number})` : '';
  return `${c.done + c.pruned + c.failed}/${c.total} ended: ${c.done} done, ${c.running} running, ${c.pruned} pruned, ${c.failed} failed${best}`;
}

function trialRow(t: SweepTrial): string[] {
  const params = Object.entries(t.params)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(6)) : String(v)}`)
    .join(' ');
  const note = t.state === 'pruned' ? `at step ${t.prunedStep}` : (t.reason ?? '');
  return [String(t.number), t.state, value(t.value), params, t.runId ?? '-', note];
}

function describe(s: SweepDetails): string {
  const d = s.definition;
  return [
    `${s.name} (${s.id}): ${s.state}; ${d.method}, ${d.metric.goal} ${d.metric.name}, ${d.parallel} at once`,
    progressLine(s),
    ...(s.message ? [s.message] : []),
    ...s.warnings,
    table(['#', 'state', 'value', 'params', 'run', 'note'], s.trials.map(trialRow)),
    ...(s.importances
      ? [
          `importance (${s.importances.evaluator}): ${s.importances.values.map((v) => `${v.param} ${v.importance.toFixed(2)}`).join(', ')}`,
        ]
      : s.importanceNote
        ? [s.importanceNote]
        : []),
  ].join('\n');
}

/** `mllab sweep run|list|show|pause|resume|stop|add` */
export async function sweepCommand(client: ApiClient, out: Output, args: string[], flags: SweepFlags): Promise<number> {
  const [sub, ...rest] = args;
  const need = (n: number) => expectArgs(`sweep ${sub}`, rest, n, SWEEP_USAGE);
  const query = flags.project !== undefined ? { project: flags.project } : {};
  const byId = (id: string) => ({ params: { id }, query });
  switch (sub) {
    case 'run': {
      need(1);
      const file = path.resolve(rest[0]);
      let yaml: string;
      try {
        yaml = fs.readFileSync(file, 'utf8');
      } catch (e) {
        throw new Error(
          `Cannot read ${file}: ${(e as Error).message}. Give the path of a sweep.yaml (docs/SWEEPS.md).`,
        );
      }
      const trials = count('trials', flags.trials);
      const parallel = count('parallel', flags.parallel);
      const sweep = await client.call(sweepRoutes.create, {
        query,
        body: {
          yaml,
          dir: path.dirname(file),
          ...(trials !== undefined ? { trials } : {}),
          ...(parallel !== undefined ? { parallel } : {}),
        },
      });
      if (!flags.wait) {
        out.result(sweep, () => `Started the sweep ${sweep.name} (${sweep.id}): ${progressLine(sweep)}`);
        return 0;
      }
      return waitFor(client, out, sweep, query);
    }
    case 'list': {
      need(0);
      const sweeps = await client.call(sweepRoutes.list, { query });
      out.result(
        sweeps,
        () =>
          table(
            ['id', 'name', 'state', 'progress'],
            sweeps.map((s) => [s.id, s.name, s.state, progressLine(s)]),
          ) || 'No sweeps in this project: start one with "mllab sweep run sweep.yaml".',
      );
      return 0;
    }
    case 'show': {
      need(1);
      const sweep = await client.call(sweepRoutes.get, byId(rest[0]));
      out.result(sweep, () => describe(sweep));
      return 0;
    }
    case 'pause':
    case 'resume':
    case 'stop': {
      need(1);
      const sweep = await client.call(sweepRoutes[sub], byId(rest[0]));
      out.result(sweep, () => `The sweep ${sweep.name} is ${sweep.state}: ${progressLine(sweep)}`);
      return 0;
    }
    case 'add': {
      need(2);
      const add = count('add', rest[1])!;
      const sweep = await client.call(sweepRoutes.addTrials, { ...byId(rest[0]), body: { add } });
      out.result(sweep, () => `The sweep ${sweep.name} runs ${add} more trials: ${progressLine(sweep)}`);
      return 0;
    }
    default:
      throw new Error(`Unknown sweep command "${sub ?? ''}". Usage:\n${SWEEP_USAGE}`);
  }
}

/** Prints the progress until the sweep ends; exit code 0 when it finished, 1 when it failed or stopped. */
async function waitFor(client: ApiClient, out: Output, started: Sweep, query: { project?: string }): Promise<number> {
  let last = '';
  for (;;) {
    const sweep = await client.call(sweepRoutes.get, { params: { id: started.id }, query });
    const line = `${sweep.state}: ${progressLine(sweep)}`;
    if (line !== last && !out.json) {
      process.stderr.write(`mllab: sweep ${sweep.name} ${line}\n`);
      last = line;
    }
    if (sweep.state !== 'running') {
      out.result(sweep, () => describe(sweep));
      return sweep.state === 'finished' || sweep.state === 'paused' ? 0 : 1;
    }
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
  }
}
