import * as os from 'os';
import type { RunManifest } from '../../protocol/experiments';

/** What differs between the writers of a run directory (a client's run, a job's run). */
export type RunManifestFields = Pick<
  RunManifest,
  'id' | 'name' | 'project' | 'command' | 'cwd' | 'script' | 'host' | 'runtime' | 'git' | 'params' | 'tags'
>;

/**
 * The run.json of a run that starts now (see src/protocol/experiments.ts), written by this process:
 * its pid and user are the run's until the run's own code says otherwise.
 */
export function startedRunManifest(fields: RunManifestFields): RunManifest {
  return {
    format: 1,
    id: fields.id,
    name: fields.name,
    project: fields.project,
    status: 'running',
    startedAt: new Date().toISOString(),
    endedAt: null,
    exitCode: null,
    pid: process.pid,
    operator: os.userInfo().username,
    command: fields.command,
    cwd: fields.cwd,
    script: fields.script,
    host: fields.host,
    runtime: fields.runtime,
    packages: null,
    git: fields.git,
    params: fields.params,
    tags: fields.tags,
  };
}
