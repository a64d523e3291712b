import type { MlflowExperiment, MlflowViewType, SearchExperimentsAnswer } from '../../protocol/mlflow';
import { offsetOf, pageToken } from './page-token';
import { type Attributes, type Clause, parseFilter, parseOrderBy, passes } from './search-grammar';

const EXPERIMENT_ATTRIBUTES: Attributes = {
  name: 'text',
  experiment_id: 'text',
  creation_time: 'number',
  last_update_time: 'number',
};

export interface ExperimentSearch {
  readonly filter: string;
  readonly orderBy: readonly string[];
  readonly viewType: MlflowViewType;
  readonly maxResults: number;
  readonly pageToken: string | undefined;
}

function valueOf(e: MlflowExperiment, entity: Clause['entity'], key: string): string | number | undefined {
  if (entity === 'tag') {
    return e.tags.find((t) => t.key === key)?.value;
  }
  if (entity === 'attribute') {
    return (e as unknown as Record<string, string | number>)[key];
  }
  return undefined;
}

/** Searches experiments as MLflow does: filter on name, times and tags; order (default: newest first); pages. */
export function searchExperiments(all: readonly MlflowExperiment[], q: ExperimentSearch): SearchExperimentsAnswer {
  const clauses = parseFilter(q.filter, EXPERIMENT_ATTRIBUTES);
  const refused = clauses.find((c) => c.entity === 'metric' || c.entity === 'param');
  if (refused) {
    parseFilter(`attribute.${refused.entity}`, EXPERIMENT_ATTRIBUTES); // throws: experiments have no metrics or params
  }
  const orders = q.orderBy.map((o) => parseOrderBy(o, EXPERIMENT_ATTRIBUTES));
  const query = JSON.stringify([q.filter, q.orderBy, q.viewType]);
  const offset = offsetOf(q.pageToken, query);
  const matched = all.filter(
    (e) =>
      (q.viewType === 'ALL' || (q.viewType === 'ACTIVE_ONLY') === (e.lifecycle_stage === 'active')) &&
      clauses.every((c) => passes(c, valueOf(e, c.entity, c.key))),
  );
  matched.sort((a, b) => {
    for (const o of orders) {
      const x = valueOf(a, o.entity, o.key);
      const y = valueOf(b, o.entity, o.key);
      if (x !== y) {
        if (x === undefined || y === undefined) {
          return x === undefined ? 1 : -1;
        }
        return (x < y ? -1 : 1) * (o.ascending ? 1 : -1);
      }
    }
    return b.creation_time - a.creation_time || (a.experiment_id < b.experiment_id ? -1 : 1);
  });
  const page = matched.slice(offset, offset + q.maxResults);
  const end = offset + page.length;
  return { experiments: page, ...(end < matched.length ? { next_page_token: pageToken(end, query) } : {}) };
}
