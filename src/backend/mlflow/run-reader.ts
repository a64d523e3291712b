import * as fs from 'fs';
import type { Experiment, ExperimentDetails, RunStatus } from '../../protocol/experiments';
import type { MlflowMetric, MlflowRun, MlflowRunStatus, MlflowTag } from '../../protocol/mlflow';
import { POINT_BYTES, type MetricFiles } from '../experiments/metric-files';
import type { Store } from '../store/database';
import { DELETED_TAG, paramText } from './run-writer';

const STATUS: Record<RunStatus, MlflowRunStatus> = {
  running: 'RUNNING',
  completed: 'FINISHED',
  failed: 'FAILED',
  interrupted: 'KILLED',
};

/** A metric value as MLflow's JSON holds it: a number, or "NaN", "Infinity", "-Infinity". */
export function mlflowValue(v: number): MlflowMetric['value'] {
  return Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/** run id -> key -> the time of its last point (unix ms), for the runs of one answer. */
export type LastTimes = ReadonlyMap<string, ReadonlyMap<string, number>>;

/**
 * The time of the last point of each metric of `ids`: the experiment list holds each key's last value
 * and step, not its time, which is in the metric's points file (its last triplet). One query for the
 * runs' key indexes (the store's metric_summaries, as the ingest writes them), one small read per key.
 */
export function lastTimes(store: Store, files: MetricFiles, ids: readonly string[]): LastTimes {
  const out = new Map<string, Map<string, number>>();
  const buffer = Buffer.alloc(POINT_BYTES);
  for (let i = 0; i < ids.length; i += 500) {
    const page = ids.slice(i, i + 500);
    const rows = store.all(
      `SELECT experiment_id, key, idx, count FROM metric_summaries WHERE experiment_id IN (${page.map(() => '?').join(',')})`,
      page,
    );
    for (const r of rows) {
      const id = String(r.experiment_id);
      const count = Number(r.count);
      if (count === 0) {
        continue;
      }
      let fd: number;
      try {
        fd = fs.openSync(files.fileOf(id, Number(r.idx)), 'r');
      } catch {
        continue;
      }
      try {
        if (fs.readSync(fd, buffer, 0, POINT_BYTES, (count - 1) * POINT_BYTES) === POINT_BYTES) {
          const times = out.get(id) ?? new Map<string, number>();
          times.set(String(r.key), buffer.readDoubleLE(8));
          out.set(id, times);
        }
      } finally {
        fs.closeSync(fd);
      }
    }
  }
  return out;
}

/** The mlflow.* system tags of a run recorded by the lab's own clients, from what its run.json says. */
function systemTags(e: Experiment | ExperimentDetails): Record<string, string> {
  const tags: Record<string, string> = { 'mlflow.runName': e.name, 'mlflow.user': e.operator };
  if ('manifest' in e) {
    const m = e.manifest;
    const source = m.script?.path ?? (m.command.length > 0 ? m.command.join(' ') : undefined);
    if (source) {
      tags['mlflow.source.name'] = source;
      tags['mlflow.source.type'] = 'LOCAL';
    }
    if (m.git?.commit) {
      tags['mlflow.source.git.commit'] = m.git.commit;
    }
    if (m.git?.branch) {
      tags['mlflow.source.git.branch'] = m.git.branch;
    }
  }
  return tags;
}

/** The lifecycle of a lab run as MLflow sees it. */
export function isDeletedRun(e: Experiment): boolean {
  return e.tags[DELETED_TAG] === 'true';
}

/** A lab run as MLflow's Run: info, data (last metric values, params as text, tags), inputs. */
export function toMlflowRun(
  e: Experiment | ExperimentDetails,
  times: ReadonlyMap<string, number> | undefined,
): MlflowRun {
  const started = Date.parse(e.startedAt);
  const ended = e.endedAt === null ? undefined : Date.parse(e.endedAt);
  const metrics: MlflowMetric[] = e.metrics
    .filter((s) => s.count > 0)
    .map((s) => ({
      key: s.key,
      value:
        typeof s.lastRaw === 'number'
          ? s.lastRaw
          : s.lastRaw === 'NaN' || s.lastRaw === 'Infinity' || s.lastRaw === '-Infinity'
            ? s.lastRaw
            : (s.last ?? 'NaN'),
      timestamp: times?.get(s.key) ?? ended ?? started,
      step: s.lastStep,
    }));
  const params: MlflowTag[] = Object.entries(e.params).map(([key, v]) => ({ key, value: paramText(v) }));
  const tags = { ...systemTags(e), ...e.tags };
  delete tags[DELETED_TAG];
  return {
    info: {
      run_id: e.id,
      run_uuid: e.id,
      run_name: e.name,
      experiment_id: e.projectId,
      user_id: e.operator,
      status: STATUS[e.status],
      start_time: started,
      ...(ended === undefined ? {} : { end_time: ended }),
      artifact_uri: `mlflow-artifacts:/${e.projectId}/${e.id}/artifacts`,
      lifecycle_stage: isDeletedRun(e) ? 'deleted' : 'active',
    },
    data: { metrics, params, tags: Object.entries(tags).map(([key, value]) => ({ key, value })) },
    inputs: {
      dataset_inputs:
        'inputs' in e
          ? e.inputs.map((i) => ({
              tags: [],
              dataset: {
                name: i.dataset,
                digest: i.version === null ? '' : `v${i.version}`,
                source_type: 'mllab',
                source: i.version === null ? i.dataset : `${i.dataset}:v${i.version}`,
              },
            }))
          : [],
    },
  };
}
