import type { RunRecord } from './repository';
import { type ApplyLog, iso } from './run-state';

/**
 * Name, operator and start from the manifest; status, end and exit code from (in order) a status
 * line, a final manifest, a dead pid.
 */
export function settleStatus(record: RunRecord, dead: boolean, log: ApplyLog): void {
  const m = record.manifest;
  record.name = typeof m.name === 'string' && m.name ? m.name : record.id;
  record.operator = typeof m.operator === 'string' ? m.operator : record.operator;
  record.startedAt = iso(m.startedAt, record.startedAt);
  const final = record.logged.final;
  if (final) {
    record.status = final.status;
    record.exitCode = final.exitCode ?? (typeof m.exitCode === 'number' ? m.exitCode : null);
    record.endedAt = iso(m.endedAt, iso(new Date(final.t).toISOString(), new Date().toISOString()));
  } else if (m.status !== 'running') {
    record.status = m.status;
    record.exitCode = typeof m.exitCode === 'number' ? m.exitCode : null;
    record.endedAt = iso(m.endedAt, record.endedAt ?? new Date().toISOString());
  } else if (dead) {
    if (record.status !== 'interrupted') {
      log.info(`experiments: run ${record.id}: its process ${m.pid} ended without a final status: marked interrupted`);
    }
    record.status = 'interrupted';
    record.endedAt ??= new Date().toISOString();
    record.exitCode = null;
  } else {
    record.status = 'running';
    record.endedAt = null;
    record.exitCode = null;
  }
}
