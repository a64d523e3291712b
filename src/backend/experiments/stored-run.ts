import type { RunManifest } from '../../protocol/experiments';
import type { Row } from '../store/database';
import { emptyLogged, type Logged } from './repository';

// How a run is kept in its experiments row, compactly: a lab holds 100,000s of runs in memory.

/**
 * What the store keeps of a run.json. The run directory holds the whole file (its command, host,
 * runtime, packages and git state are read from there when a run's details are shown); the
 * experiments row keeps only what the ingest needs when it cannot read the file: the fields that
 * have columns of their own (id, name, operator, start, and the manifest's params and tags in the
 * `params` and `tags` columns) are not repeated, and the rest is `kept` below. A typical run.json
 * of 500 bytes to several KB (with its package list and git state) becomes about 120 bytes.
 */
const IN_COLUMNS = ['id', 'name', 'operator', 'startedAt', 'params', 'tags'] as const;
const IN_FILE_ONLY = ['command', 'cwd', 'script', 'runtime', 'packages', 'git', 'host'] as const;

/** The manifest's own params and tags, as the `params` and `tags` columns hold them. */
export function manifestColumns(m: RunManifest): { params: string; tags: string } {
  const object = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
  return { params: JSON.stringify(object(m.params)), tags: JSON.stringify(object(m.tags)) };
}

/** The `manifest` column of a run: its manifest without the fields above (the host's name stays). */
export function storedManifest(m: RunManifest): string {
  const kept: Record<string, unknown> = { ...(m as unknown as Record<string, unknown>) };
  for (const f of [...IN_COLUMNS, ...IN_FILE_ONLY]) {
    delete kept[f];
  }
  const hostname = (m.host as { hostname?: unknown } | undefined)?.hostname;
  if (typeof hostname === 'string') {
    kept.host = { hostname };
  }
  return JSON.stringify(kept);
}

/**
 * The manifest of a stored run as the store knows it: its kept fields and columns, with what only
 * the file holds left empty.
 */
export function manifestOfRow(row: Row): RunManifest {
  const kept = JSON.parse(String(row.manifest)) as Partial<RunManifest>;
  return {
    command: [],
    cwd: '',
    script: null,
    runtime: {},
    packages: null,
    git: null,
    ...kept,
    host: { hostname: '', os: '', cpus: 0, memoryBytes: 0, gpus: [], ...kept.host },
    id: String(row.id),
    name: String(row.name),
    operator: String(row.operator),
    startedAt: String(row.started_at),
    params: JSON.parse(String(row.params)) as RunManifest['params'],
    tags: JSON.parse(String(row.tags)) as RunManifest['tags'],
  } as RunManifest;
}

/** `v`, or undefined (left out by JSON.stringify) when it holds nothing */
const nonEmpty = <T extends object>(v: T | undefined): T | undefined =>
  v && Object.keys(v).length > 0 ? v : undefined;

/** The `logged` column: what a run logged, without the fields that hold nothing (about 90 bytes less). */
export function storedLogged(l: Logged): string {
  return JSON.stringify({
    params: nonEmpty(l.params),
    tags: nonEmpty(l.tags),
    artifacts: nonEmpty(l.artifacts),
    inputs: nonEmpty(l.inputs),
    outputs: nonEmpty(l.outputs),
    result: l.result ?? undefined, // (0, {} and [] are results)
    final: l.final ?? undefined,
    warnings: nonEmpty(l.warnings),
    moreWarnings: l.moreWarnings || undefined,
  });
}

/** The Logged of a `logged` column, whether written whole (before schema version 9) or compactly. */
export function loggedOf(text: unknown): Logged {
  return { ...emptyLogged(), ...(JSON.parse(String(text)) as Partial<Logged>) };
}
