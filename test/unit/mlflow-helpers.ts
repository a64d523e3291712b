import type { Backend } from '../../src/backend/app';
import { raw, type RawResponse, startBackend, tempHome } from './helpers';

/** An MLflow REST call on the lab: a JSON body for POST, the query of a GET (lists as repeated keys). */
export async function mlflowCall(
  backend: Backend,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  endpoint: string,
  fields: Record<string, unknown> = {},
  prefix = '/api/2.0/mlflow',
): Promise<RawResponse> {
  if (method !== 'GET') {
    const body = JSON.stringify(fields);
    // a DELETE's body needs its length said (Node frames only POST, PUT and PATCH bodies by itself)
    return raw(backend.port, method, `${prefix}/${endpoint}`, {
      body,
      headers: { 'content-length': String(Buffer.byteLength(body)) },
    });
  }
  const query = Object.entries(fields)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k}=${encodeURIComponent(String(x))}`))
    .join('&');
  return raw(backend.port, 'GET', `${prefix}/${endpoint}${query ? `?${query}` : ''}`);
}

/** The answer of a call that must succeed (200), parsed. */
export async function mlflowOk<T = Record<string, unknown>>(
  backend: Backend,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  endpoint: string,
  fields: Record<string, unknown> = {},
): Promise<T> {
  const res = await mlflowCall(backend, method, endpoint, fields);
  if (res.status !== 200) {
    throw new Error(`${method} ${endpoint} answered ${res.status}: ${res.text}`);
  }
  return res.json() as T;
}

/** The MLflow error of a call that must fail: its status, error_code and message. */
export async function mlflowError(
  backend: Backend,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  endpoint: string,
  fields: Record<string, unknown> = {},
): Promise<{ status: number; code: string; message: string }> {
  const res = await mlflowCall(backend, method, endpoint, fields);
  const body = res.json() as { error_code: string; message: string };
  return { status: res.status, code: body.error_code, message: body.message };
}

/** The lab of a suite of MLflow tests: a backend on a new home, started before the suite's tests, stopped and removed after. */
export interface MlflowTestLab {
  backend: Backend;
  readonly home: string;
}

/** Registers the hooks that give a suite its lab (call it in the `describe` body, before its own hooks). */
export function mlflowLab(): MlflowTestLab {
  const lab = {} as { backend: Backend; home: string; cleanup?: () => void };
  before(async () => {
    const made = tempHome();
    lab.home = made.home;
    lab.cleanup = made.cleanup;
    lab.backend = await startBackend(made.home);
  });
  after(async () => {
    await lab.backend?.stop('test done');
    lab.cleanup?.();
  });
  return lab;
}

/** Creates an MLflow experiment; its id. */
export async function createExperiment(backend: Backend, name: string): Promise<string> {
  return (await mlflowOk<{ experiment_id: string }>(backend, 'POST', 'experiments/create', { name })).experiment_id;
}
