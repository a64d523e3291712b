import type { ApiClient } from '../client/api-client';
import type { Experiment, MetricSummary } from '../protocol/experiments';
import { expectArgs, Output, table } from './output';
import { EXP_USAGE } from './usage';

function duration(e: Experiment): string {
  return e.durationMs === null ? '' : `${(e.durationMs / 1000).toFixed(1)} s`;
}

function summary(m: MetricSummary): string {
  return `${m.key}=${typeof m.lastRaw === 'number' ? Number(m.lastRaw.toPrecision(6)) : m.lastRaw}`;
}

export async function expCommand(
  client: ApiClient,
  out: Output,
  args: string[],
  flags: { project?: string; maxPoints?: string; from?: string; to?: string; yes?: boolean },
): Promise<number> {
  const [sub, ...rest] = args;
  const need = (n: number) => expectArgs(`exp ${sub}`, rest, n, EXP_USAGE);
  switch (sub) {
    case 'list': {
      need(0);
      const list = await client.listExperiments(flags.project);
      out.result(list, () =>
        list.length === 0
          ? 'No experiments in this project yet: run one with "mllab run -- python train.py".'
          : table(
              ['ID', 'NAME', 'STATUS', 'STARTED', 'DURATION', 'METRICS'],
              list.map((e) => [
                e.id,
                e.name,
                e.status,
                e.startedAt,
                duration(e),
                e.metrics.slice(0, 4).map(summary).join(' '),
              ]),
            ),
      );
      return 0;
    }
    case 'show': {
      need(1);
      const e = await client.getExperiment(rest[0]);
      out.result(e, () =>
        [
          `${e.name} (${e.id}): ${e.status}${e.exitCode === null ? '' : `, exit code ${e.exitCode}`}`,
          `started ${e.startedAt}${e.endedAt ? `, ended ${e.endedAt} (${duration(e)})` : ''} by ${e.operator}`,
          `params:  ${JSON.stringify(e.params)}`,
          ...e.metrics.map((m) => `metric ${m.key}: count ${m.count}, last ${m.lastRaw}, min ${m.min}, max ${m.max}`),
          `dir:     ${e.dir}`,
        ].join('\n'),
      );
      return 0;
    }
    case 'metrics': {
      need(2);
      const number = (v: string | undefined, what: string) => {
        if (v === undefined) {
          return undefined;
        }
        const n = Number(v);
        if (!Number.isFinite(n)) {
          throw new Error(`${what} takes a number, not "${v}".`);
        }
        return n;
      };
      const series = await client.getMetricSeries(rest[0], rest[1], {
        maxPoints: number(flags.maxPoints, '--max-points'),
        from: number(flags.from, '--from'),
        to: number(flags.to, '--to'),
      });
      const special = new Map(series.special.map((s) => [s.index, s.value]));
      out.result(series, () =>
        table(
          ['STEP', 'VALUE', 'TIME'],
          series.steps.map((s, i) => [
            String(s),
            String(special.get(i) ?? series.values[i]),
            new Date(series.times[i]).toISOString(),
          ]),
        ),
      );
      return 0;
    }
    case 'rm': {
      need(1);
      const e = await client.getExperiment(rest[0]);
      if (!flags.yes) {
        throw new Error(`Deleting experiment ${e.name} (${e.id}) and its run directory needs confirmation: add --yes.`);
      }
      await client.deleteExperiment(e.id);
      out.result({ deleted: true, id: e.id }, () => `Deleted experiment ${e.name} (${e.id}).`);
      return 0;
    }
    default:
      throw new Error(`Unknown command "mllab exp ${sub ?? ''}". Usage:\n${EXP_USAGE}`);
  }
}
