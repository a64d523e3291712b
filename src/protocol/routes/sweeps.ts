import type { AddSweepTrialsRequest, CreateSweepRequest, Sweep, SweepDetails } from '../sweeps';
import { SWEEP_LIMITS } from '../sweeps';
import { route } from './route';
import { lookupText, pathText, projectQuery, text, type InProject } from './schema';

const idParams = { type: 'object', required: ['id'], properties: { id: lookupText } } as const;
const count = (maximum: number) => ({ type: 'integer', minimum: 1, maximum }) as const;
const byId = { params: idParams, query: projectQuery } as const;

/**
 * Parameter sweeps of a project (`:id` is the sweep; `?project=` the project it belongs to, default
 * the active one). A sweep's definition arrives as the text of its sweep.yaml, checked by the
 * backend (src/backend/sweeps/definition.ts), whose messages say what to change in the file.
 */
export const sweepRoutes = {
  list: route<Sweep[], undefined, InProject>()({ method: 'GET', path: '/api/sweeps', query: projectQuery }),
  /** creates the sweep and starts its trials */
  create: route<Sweep, CreateSweepRequest, InProject>()({
    method: 'POST',
    path: '/api/sweeps',
    status: 201,
    query: projectQuery,
    body: {
      type: 'object',
      required: ['yaml', 'dir'],
      additionalProperties: false,
      properties: {
        yaml: text(SWEEP_LIMITS.yamlChars, 1),
        dir: pathText,
        trials: count(SWEEP_LIMITS.maxTrials),
        parallel: count(SWEEP_LIMITS.maxParallel),
      },
    },
  }),
  get: route<SweepDetails, undefined, InProject>()({ method: 'GET', path: '/api/sweeps/:id', ...byId }),
  /** no new trial starts; running ones go on */
  pause: route<Sweep, undefined, InProject>()({ method: 'POST', path: '/api/sweeps/:id/pause', ...byId }),
  /** a paused, stopped or failed sweep starts trials again (up to its number of trials) */
  resume: route<Sweep, undefined, InProject>()({ method: 'POST', path: '/api/sweeps/:id/resume', ...byId }),
  /** stops the running trials too (recorded failed, "stopped with the sweep") */
  stop: route<Sweep, undefined, InProject>()({ method: 'POST', path: '/api/sweeps/:id/stop', ...byId }),
  /** runs N more trials (a finished sweep runs again) */
  addTrials: route<Sweep, AddSweepTrialsRequest, InProject>()({
    method: 'POST',
    path: '/api/sweeps/:id/trials',
    ...byId,
    body: {
      type: 'object',
      required: ['add'],
      additionalProperties: false,
      properties: { add: count(SWEEP_LIMITS.maxTrials) },
    },
  }),
} as const;
