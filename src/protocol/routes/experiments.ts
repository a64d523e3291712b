import type { ExperimentList } from '../experiment-list';
import type { ExperimentDetails, MetricSeries } from '../experiments';
import { route, type JsonText } from './route';

const idText = { type: 'string', minLength: 1, maxLength: 200 } as const;
const idParams = { type: 'object', required: ['id'], properties: { id: idText } } as const;
/** a number as the query holds it: the handler checks it, so that its message says what to send */
const queryNumber = { type: 'string', maxLength: 30 } as const;

/** The query of a metric's series: at most `maxPoints` points, the steps from `from` to `to` (numbers as text). */
export interface SeriesQuery {
  readonly maxPoints?: string;
  readonly from?: string;
  readonly to?: string;
}

/** Experiments (runs) of a project (`:id` is the run), a metric's series (`:key`), and their deletion. */
export const experimentRoutes = {
  /** an ExperimentList as JSON text straight from the store or its cache */
  list: route<JsonText<ExperimentList>, undefined, { readonly project?: string }>()({
    method: 'GET',
    path: '/api/experiments',
    query: { type: 'object', additionalProperties: false, properties: { project: idText } },
  }),
  get: route<ExperimentDetails>()({ method: 'GET', path: '/api/experiments/:id', params: idParams }),
  series: route<MetricSeries, undefined, SeriesQuery>()({
    method: 'GET',
    path: '/api/experiments/:id/metrics/:key',
    params: {
      type: 'object',
      required: ['id', 'key'],
      properties: { id: idText, key: { type: 'string', minLength: 1, maxLength: 1000 } },
    },
    query: {
      type: 'object',
      additionalProperties: false,
      properties: { maxPoints: queryNumber, from: queryNumber, to: queryNumber },
    },
  }),
  delete: route<void>()({ method: 'DELETE', path: '/api/experiments/:id', status: 204, params: idParams }),
} as const;
