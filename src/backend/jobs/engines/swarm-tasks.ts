import type { EngineEnd, EngineRunInfo } from '../engine';

/** The fields of a Swarm task the job engine reads (Engine API 1.41). */
export interface SwarmTask {
  readonly ID: string;
  readonly ServiceID: string;
  readonly NodeID?: string;
  readonly CreatedAt?: string;
  readonly Status?: {
    readonly State?: string;
    readonly Message?: string;
    readonly Err?: string;
    readonly Timestamp?: string;
    readonly ContainerStatus?: { readonly ExitCode?: number };
  };
}

/** node id -> its host name and Swarm state (ready, down, disconnected, unknown) */
export type NodeStates = ReadonlyMap<string, { readonly name: string; readonly state: string }>;

/**
 * How long a task may stay pending with Swarm's "no suitable node" before the run fails with that
 * reason: Swarm says it at once when no node has the label or the room, and keeps the task pending
 * for ever; a short grace lets a node that is just joining or freeing room take it.
 */
export const UNPLACEABLE_GRACE_MS = 3000;

const BEFORE_RUNNING = new Set([
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
]);
/** a node in these states no longer runs its tasks (Swarm reschedules nothing for a job) */
const GONE = new Set(['down', 'disconnected']);

type Phase = Pick<EngineRunInfo, 'phase'> & Partial<EngineEnd>;

/** A run's phase and end from its service's tasks (the newest one counts) and the nodes' states. */
export function classifyTask(tasks: readonly SwarmTask[], nodes: NodeStates, now: number): Phase {
  const task = [...tasks].sort((a, b) => (a.CreatedAt ?? '').localeCompare(b.CreatedAt ?? '')).pop();
  if (!task) {
    return { phase: 'starting' };
  }
  const status = task.Status ?? {};
  const state = status.State ?? 'new';
  const at = status.Timestamp ?? null;
  const node = task.NodeID ? nodes.get(task.NodeID) : undefined;
  if (state === 'running' || (BEFORE_RUNNING.has(state) && state !== 'pending' && node)) {
    if (node && GONE.has(node.state)) {
      return {
        phase: 'ended',
        lost: true,
        exitCode: null,
        failure: `node ${node.name} left the cluster`,
        finishedAt: new Date(now).toISOString(),
      };
    }
    return { phase: state === 'running' ? 'running' : 'starting' };
  }
  if (BEFORE_RUNNING.has(state)) {
    const why = status.Err || status.Message || '';
    const waited = now - Date.parse(task.CreatedAt ?? new Date(now).toISOString());
    if (/no suitable node/i.test(why) && waited >= UNPLACEABLE_GRACE_MS) {
      return {
        phase: 'ended',
        exitCode: null,
        failure: `no node of the cluster can run it: ${why}`,
        finishedAt: new Date(now).toISOString(),
      };
    }
    return { phase: 'starting' };
  }
  const exitCode = status.ContainerStatus?.ExitCode ?? null;
  if (state === 'complete') {
    return { phase: 'ended', exitCode: exitCode ?? 0, failure: null, finishedAt: at };
  }
  if (state === 'failed' && exitCode !== null && exitCode !== 0) {
    return { phase: 'ended', exitCode, failure: null, finishedAt: at };
  }
  const why = status.Err || status.Message || state;
  return {
    phase: 'ended',
    exitCode,
    failure: state === 'rejected' ? `the cluster refused to start it: ${why}` : `the task ended ${state}: ${why}`,
    finishedAt: at,
  };
}
