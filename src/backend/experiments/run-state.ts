import type { Logger } from '../log';
import type { PointBuffer } from './metric-files';
import type { KeyState, RunRecord } from './repository';

/** A `model` event of a run, to register (see RunEvent). */
export interface LoggedModel {
  readonly runId: string;
  readonly projectId: string;
  readonly runDir: string;
  readonly name: string;
  /** relative to the run directory */
  readonly path: string;
  readonly entryPoint: string | null;
  readonly description: string;
  readonly tags: readonly string[];
  /** unique per event: the run id and the line's byte offset in events.jsonl */
  readonly key: string;
}

/** What the ingest of one run holds between passes: its row, its metric keys and what is not committed. */
export interface RunState {
  record: RunRecord;
  keys: Map<string, KeyState>;
  isNew: boolean;
  /** run.json changed since the last commit */
  manifestDirty: boolean;
  /** `model` events read in this pass, registered before it commits */
  models: LoggedModel[];
  /** a warning was added to the run since the last commit */
  warned: boolean;
  /** characters of JSON the run's params, tags, artifacts, inputs, outputs and result take (about) */
  recorded: number;
  /**
   * The line at the committed offset is longer than RUN_LIMITS.lineBytes and has no newline before
   * `scanned` (a file position): it is skipped to its newline, reading only what is new each pass.
   */
  longLine?: { scanned: number };
}

/** One key's points of the current pass. */
export interface Pending {
  readonly key: string;
  readonly state: KeyState;
  readonly points: PointBuffer;
}

/** Where the event applier reports: the backend's log (its lines, not the run's warnings). */
export type ApplyLog = Pick<Logger, 'warn' | 'info'>;

export const STATUSES: ReadonlySet<string> = new Set(['running', 'completed', 'failed', 'interrupted']);

/** A name or value for a message: at most 40 characters of it. */
export function shown(text: string): string {
  return text.length > 40
    ? `${JSON.stringify(text.slice(0, 40))}... (${text.length} characters)`
    : JSON.stringify(text);
}

/** The JSON text length of a recorded value (undefined counts as nothing). */
export function jsonChars(v: unknown): number {
  if (v === undefined) {
    return 0;
  }
  if (typeof v === 'string') {
    return v.length + 2;
  }
  return JSON.stringify(v)?.length ?? 0;
}

/** An ISO time from a manifest's text, or `fallback` when it is none. */
export function iso(text: unknown, fallback: string): string {
  const ms = typeof text === 'string' ? Date.parse(text) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : fallback;
}
