import type { FastifyInstance } from 'fastify';
import { experimentRoutes as routes } from '../../protocol/routes/experiments';
import { ApiError } from '../errors';
import { register } from '../http/register';
import type { ProjectRepository } from '../projects/repository';
import type { ExperimentRepository } from './repository';
import { readSeries } from './series';
import type { ExperimentTracker } from './tracker';

export interface ExperimentRouteDeps {
  readonly projects: ProjectRepository;
  readonly experiments: ExperimentRepository;
  readonly tracker: ExperimentTracker;
}

const MAX_POINTS_LIMIT = 1_000_000;

/** A query number, checked here so that the message says what to send. */
function numberParam(name: string, text: string | undefined, whole: boolean): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(n) || (whole && !Number.isInteger(n))) {
    throw new ApiError(
      400,
      'invalid_request',
      whole
        ? `Invalid request: ${name} must be a whole number, e.g. ${name}=2000 (got "${text}").`
        : `Invalid request: ${name} must be a step number, e.g. ${name}=100 (got "${text}").`,
    );
  }
  return n;
}

export function registerExperimentRoutes(app: FastifyInstance, deps: ExperimentRouteDeps): void {
  const { projects, experiments, tracker } = deps;

  register(app, routes.list, async (request, reply) => {
    // an ExperimentList as JSON text straight from SQLite or its cache (see ExperimentRepository.listJson)
    void reply.type('application/json; charset=utf-8');
    return experiments.listJson(projects.resolveOrActive(request.query.project).id);
  });

  register(app, routes.get, async (request) => experiments.details(request.params.id));

  register(app, routes.series, async (request) => {
    const q = request.query;
    const maxPoints = numberParam('maxPoints', q.maxPoints, true);
    if (maxPoints !== undefined && (maxPoints < 2 || maxPoints > MAX_POINTS_LIMIT)) {
      throw new ApiError(
        400,
        'invalid_request',
        `Invalid request: maxPoints must be between 2 and ${MAX_POINTS_LIMIT} (got ${maxPoints}); leave it out for every point.`,
      );
    }
    const from = numberParam('from', q.from, false);
    const to = numberParam('to', q.to, false);
    if (from !== undefined && to !== undefined && from > to) {
      throw new ApiError(400, 'invalid_request', `Invalid request: from (${from}) is after to (${to}): swap them.`);
    }
    return readSeries(experiments, tracker.files, request.params.id, request.params.key, { maxPoints, from, to });
  });

  register(app, routes.delete, async (request) => {
    await tracker.delete(request.params.id);
  });
}
