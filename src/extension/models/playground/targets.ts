import type { Service } from '../../../protocol/containers';
import type { DatasetVersion } from '../../../protocol/datasets';
import { MODEL_SERVER_IMAGE, MODEL_SERVER_PORT } from '../../../protocol/models';
import type {
  PlaygroundDataset,
  PlaygroundTarget,
  PredictionResult,
  PredictRoute,
} from '../../../protocol/webviews/prediction-playground';
import { formatBytes } from '../../datasets/format';
import { errorReason, prettyBody, request, type HttpAnswer } from './http';

/** A model service with the host port its model server is published on (null: none). */
export interface ModelTarget extends PlaygroundTarget {
  readonly hostPort: number | null;
}

/** The services of a project that run the model server. */
export function isModelService(service: Service): boolean {
  return service.image.startsWith(MODEL_SERVER_IMAGE);
}

/** The host port of the model server's port (8080 in the container), else of the first published port. */
export function hostPortOf(service: Service): number | null {
  const port = service.ports.find((p) => p.containerPort === MODEL_SERVER_PORT) ?? service.ports[0];
  return port && port.hostPort > 0 ? port.hostPort : null;
}

/** The model a service serves, as "iris:v2", from the environment the deploy gave it. */
export function modelOf(service: Service): string {
  const name = service.env.MODEL_NAME;
  const version = service.env.MODEL_VERSION;
  return name ? (version ? `${name}:v${version}` : name) : service.image;
}

export function targetOf(service: Service): ModelTarget {
  const hostPort = hostPortOf(service);
  return {
    service: service.name,
    model: modelOf(service),
    status: service.status,
    url: hostPort === null ? null : `http://127.0.0.1:${hostPort}`,
    hostPort,
  };
}

/** Model services, sorted by model then service name. */
export function modelTargets(services: readonly Service[]): ModelTarget[] {
  return services
    .filter(isModelService)
    .map(targetOf)
    .sort((a, b) => a.model.localeCompare(b.model) || a.service.localeCompare(b.service));
}

/** Dataset versions whose rows the playground can read: single CSV/TSV files. */
export function csvDatasets(versions: readonly DatasetVersion[]): PlaygroundDataset[] {
  return versions
    .filter((v) => v.kind === 'file' && (/\.(csv|tsv|tab)$/i.test(v.fileName) || /csv|tab-separated/.test(v.mediaType)))
    .map((v) => ({ ref: `${v.name}:v${v.version}`, label: `${v.name}:v${v.version} · ${formatBytes(v.size)}` }));
}

/** Why a service that did not answer failed: its state says more than "connection refused". */
function notAnswered(target: ModelTarget, answer: HttpAnswer): string {
  const error = answer.error ?? 'no answer';
  return target.status === 'healthy' || target.status === 'running'
    ? error
    : `the service is ${target.status}: ${error}`;
}

/** Sends one body to one model service and describes its answer. */
export async function predict(
  target: ModelTarget,
  route: PredictRoute,
  body: string,
  timeoutMs?: number,
): Promise<PredictionResult> {
  const base = { service: target.service, model: target.model };
  if (target.hostPort === null) {
    return {
      ...base,
      status: null,
      ok: false,
      latencyMs: null,
      body: '',
      error: 'the service publishes no port on 127.0.0.1',
    };
  }
  const answer = await request({ port: target.hostPort, method: 'POST', path: route, body, timeoutMs });
  if (answer.status === null || answer.error) {
    return {
      ...base,
      status: answer.status,
      ok: false,
      latencyMs: answer.latencyMs,
      body: '',
      error: notAnswered(target, answer),
    };
  }
  const ok = answer.status >= 200 && answer.status < 300;
  return {
    ...base,
    status: answer.status,
    ok,
    latencyMs: answer.latencyMs,
    body: prettyBody(answer.text),
    error: ok ? null : errorReason(answer.status, answer.text),
  };
}

/**
 * The model services to preselect for a model (every version, newest first) or one version: healthy
 * ones first, at most two (A/B).
 */
export function servicesOfModel(services: readonly Service[], name: string, version?: number): string[] {
  const rank = (s: Service) => (s.status === 'healthy' ? 0 : s.status === 'running' || s.status === 'starting' ? 1 : 2);
  return services
    .filter((s) => isModelService(s) && s.env.MODEL_NAME === name)
    .filter((s) => version === undefined || s.env.MODEL_VERSION === String(version))
    .sort((a, b) => rank(a) - rank(b) || Number(b.env.MODEL_VERSION ?? 0) - Number(a.env.MODEL_VERSION ?? 0))
    .map((s) => s.name)
    .slice(0, 2);
}
