import { cutText, RUN_LIMITS } from '../../protocol/limits';
import { type ApplyLog, jsonChars, type RunState, shown } from './run-state';

/*
 * The limits of what one run records (RUN_LIMITS): every check that refuses or cuts a value says so
 * in the run's warnings, so that the person who logged it sees why it is missing.
 */

/**
 * Records a warning in the run (shown with it; kept once per text, at most
 * RUN_LIMITS.warningsPerRun, more are counted) and in the backend's log.
 */
export function warn(state: RunState, message: string, log: ApplyLog): void {
  const logged = state.record.logged;
  const list = (logged.warnings ??= []);
  if (list.includes(message)) {
    return;
  }
  state.warned = true;
  if (list.length < RUN_LIMITS.warningsPerRun) {
    list.push(message);
    log.warn(`experiments: run ${state.record.id}: ${message}`);
  } else {
    logged.moreWarnings = (logged.moreWarnings ?? 0) + 1;
  }
}

/**
 * Whether the run may record `added` more characters (`removed` are replaced); else a warning.
 * Keeps the run's row in the store bounded (RUN_LIMITS.recordedChars).
 */
export function fits(state: RunState, log: ApplyLog, what: string, added: number, removed = 0): boolean {
  if (state.recorded + added - removed > RUN_LIMITS.recordedChars) {
    warn(
      state,
      `refused ${what}: a run records at most ${RUN_LIMITS.recordedChars} characters of params, tags, artifacts, inputs, outputs and result`,
      log,
    );
    return false;
  }
  state.recorded += added - removed;
  return true;
}

/** A value for the store: as it is, or (too long) its text cut to `max` characters, with a warning. */
export function bounded(state: RunState, log: ApplyLog, what: string, v: unknown, max: number): unknown {
  if (typeof v === 'string' ? v.length <= max : jsonChars(v) <= max) {
    return v;
  }
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  warn(state, `${what} has ${text.length} characters: kept its first ${max}`, log);
  return cutText(text, max);
}

/** A key within RUN_LIMITS.keyChars, else a warning and false. */
export function keyFits(state: RunState, log: ApplyLog, kind: string, key: string): boolean {
  if (key.length <= RUN_LIMITS.keyChars) {
    return true;
  }
  warn(state, `refused the ${kind} ${shown(key)}: keys are limited to ${RUN_LIMITS.keyChars} characters`, log);
  return false;
}

/** A path within RUN_LIMITS.pathChars, else a warning and false. */
export function pathFits(state: RunState, log: ApplyLog, kind: string, p: string): boolean {
  if (p.length <= RUN_LIMITS.pathChars) {
    return true;
  }
  warn(state, `refused the ${kind} ${shown(p)}: paths are limited to ${RUN_LIMITS.pathChars} characters`, log);
  return false;
}
