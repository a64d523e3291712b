import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RunManifest } from '../../src/protocol/experiments';

/** A pid that no process has (above the kernel's pid_max) */
export const DEAD_PID = 4194303;

export function manifest(id: string, over: Partial<RunManifest> = {}): RunManifest {
  return {
    format: 1,
    id,
    name: `run ${id}`,
    project: null,
    status: 'running',
    startedAt: '2026-01-02T03:04:05.000Z',
    endedAt: null,
    exitCode: null,
    pid: process.pid,
    operator: 'tester',
    command: ['python', 'train.py'],
    cwd: '/work',
    script: null,
    host: { hostname: os.hostname(), os: 'linux', cpus: 2, memoryBytes: 1, gpus: [] },
    runtime: { python: '3.11.7' },
    packages: null,
    git: null,
    params: { lr: 0.01 },
    tags: { kind: 'test' },
    ...over,
  };
}

/** Writes run.json the way clients do: a temp file renamed over the old one. */
export function writeManifest(home: string, m: RunManifest): string {
  const dir = path.join(home, 'runs', m.id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json.tmp'), JSON.stringify(m, null, 2));
  fs.renameSync(path.join(dir, 'run.json.tmp'), path.join(dir, 'run.json'));
  return dir;
}

export function appendEvents(home: string, id: string, text: string): void {
  const dir = path.join(home, 'runs', id);
  fs.mkdirSync(dir, { recursive: true });
  fs.appendFileSync(path.join(dir, 'events.jsonl'), text);
}

export const metricLine = (key: string, v: number | string, s: number | null, t = 1767225600000 + (s ?? 0)) =>
  `${JSON.stringify({ k: 'm', key, v, s, t })}\n`;

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 10000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) {
        return v;
      }
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
