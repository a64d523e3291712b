import type { Experiment } from '../../protocol/experiments';
import { MLFLOW_LIMITS, type MlflowViewType } from '../../protocol/mlflow';
import { invalid } from './errors';
import { offsetOf, pageToken } from './page-token';
import { isDeletedRun } from './run-reader';
import { type Attributes, type Clause, type OrderBy, parseFilter, parseOrderBy, passes } from './search-grammar';
import { paramText } from './run-writer';

const STATUS_TEXT: Readonly<Record<Experiment['status'], string>> = {
  running: 'RUNNING',
  completed: 'FINISHED',
  failed: 'FAILED',
  interrupted: 'KILLED',
};

/** The attributes of a run a filter or an order-by can name. */
export const RUN_ATTRIBUTES: Attributes = {
  run_id: 'text',
  run_name: 'text',
  status: 'text',
  user_id: 'text',
  artifact_uri: 'text',
  lifecycle_stage: 'text',
  start_time: 'number',
  end_time: 'number',
};

/** The value of an entity's key in a run (undefined: the run does not have it). */
function valueOf(e: Experiment, entity: Clause['entity'], key: string): string | number | undefined {
  switch (entity) {
    case 'metric': {
      const s = e.metrics.find((m) => m.key === key);
      return s === undefined || s.count === 0 ? undefined : typeof s.lastRaw === 'number' ? s.lastRaw : NaN;
    }
    case 'param':
      return Object.prototype.hasOwnProperty.call(e.params, key) ? paramText(e.params[key]) : undefined;
    case 'tag':
      return Object.prototype.hasOwnProperty.call(e.tags, key)
        ? e.tags[key]
        : key === 'mlflow.runName'
          ? e.name
          : key === 'mlflow.user'
            ? e.operator
            : undefined;
    case 'attribute':
      switch (key) {
        case 'run_id':
          return e.id;
        case 'run_name':
          return e.name;
        case 'status':
          return STATUS_TEXT[e.status];
        case 'user_id':
          return e.operator;
        case 'artifact_uri':
          return `mlflow-artifacts:/${e.projectId}/${e.id}/artifacts`;
        case 'lifecycle_stage':
          return isDeletedRun(e) ? 'deleted' : 'active';
        case 'start_time':
          return Date.parse(e.startedAt);
        case 'end_time':
          return e.endedAt === null ? undefined : Date.parse(e.endedAt);
      }
  }
  return undefined;
}

export function viewTypeOf(v: unknown): MlflowViewType {
  switch (v) {
    case undefined:
    case null:
    case '':
    case 1:
    case '1':
    case 'ACTIVE_ONLY':
      return 'ACTIVE_ONLY';
    case 2:
    case '2':
    case 'DELETED_ONLY':
      return 'DELETED_ONLY';
    case 3:
    case '3':
    case 'ALL':
      return 'ALL';
  }
  throw invalid(
    `Invalid value ${JSON.stringify(v).slice(0, 50)} for parameter 'run_view_type': use ACTIVE_ONLY, DELETED_ONLY or ALL.`,
  );
}

/** max_results of a search: 1..50000, 1000 when absent. */
export function maxResultsOf(v: number | undefined, max: number = MLFLOW_LIMITS.maxResults): number {
  if (v === undefined) {
    return Math.min(MLFLOW_LIMITS.defaultMaxResults, max);
  }
  if (v < 1 || v > max) {
    throw invalid(`Invalid value for request parameter max_results. It must be at most ${max}, but got value ${v}`);
  }
  return v;
}

export interface RunSearch {
  readonly filter: string;
  readonly orderBy: readonly string[];
  readonly viewType: MlflowViewType;
  readonly maxResults: number;
  readonly pageToken: string | undefined;
}

/** Compares two values of an order-by key: runs without it come last, whichever the direction. */
function compare(a: string | number | undefined, b: string | number | undefined, ascending: boolean): number {
  if (a === undefined || b === undefined) {
    return a === b ? 0 : a === undefined ? 1 : -1;
  }
  const d = a < b ? -1 : a > b ? 1 : 0;
  return ascending ? d : -d;
}

/**
 * Searches runs as MLflow does: the filter's clauses, the view type, the order-by clauses (then
 * start time, newest first, then run id), a page of at most `maxResults`, and the token of the next.
 */
export function searchRuns(
  runs: readonly Experiment[],
  q: RunSearch,
  experimentIds: readonly string[],
): { page: Experiment[]; next?: string } {
  const clauses = parseFilter(q.filter, RUN_ATTRIBUTES);
  const orders: OrderBy[] = q.orderBy.map((o) => parseOrderBy(o, RUN_ATTRIBUTES));
  const query = JSON.stringify([experimentIds, q.filter, q.orderBy, q.viewType]);
  const offset = offsetOf(q.pageToken, query);
  const matched = runs.filter((e) => {
    const deleted = isDeletedRun(e);
    if ((q.viewType === 'ACTIVE_ONLY' && deleted) || (q.viewType === 'DELETED_ONLY' && !deleted)) {
      return false;
    }
    for (const c of clauses) {
      if (!passes(c, valueOf(e, c.entity, c.key))) {
        return false;
      }
    }
    return true;
  });
  const keyed = matched.map((e) => ({
    e,
    keys: orders.map((o) => valueOf(e, o.entity, o.key)),
    start: Date.parse(e.startedAt),
  }));
  keyed.sort((a, b) => {
    for (let i = 0; i < orders.length; i++) {
      const d = compare(a.keys[i], b.keys[i], orders[i].ascending);
      if (d !== 0) {
        return d;
      }
    }
    return b.start - a.start || (a.e.id < b.e.id ? -1 : a.e.id > b.e.id ? 1 : 0);
  });
  const page = keyed.slice(offset, offset + q.maxResults).map((k) => k.e);
  const end = offset + page.length;
  return end < keyed.length ? { page, next: pageToken(end, query) } : { page };
}
