import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RUN_DIR_MODE, RUN_FILE_MODE } from '../../common/run-directory/files';

/**
 * The local journal of runs recorded for a lab over the network: a folder of run directories (the
 * same format as a lab home's `runs/`), and `.shipped/<id>.json` markers saying what the lab
 * acknowledged of each. The Python client keeps the same journal with the same markers
 * (`python/mllab/_ship_pass.py`), so either client's `sync` finishes the other's runs.
 */

/** A run id as the clients make it: `<yyyyMMdd-HHmmss>-<6 hex>` (UTC). */
export const RUN_ID = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$/;

/** `$MLLAB_LOCAL_RUNS`, else `~/.cache/mllab/runs` (`$XDG_CACHE_HOME/mllab/runs` when set). */
export function localRunsDir(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.MLLAB_LOCAL_RUNS;
  if (chosen) {
    return path.resolve(chosen.startsWith('~/') ? path.join(os.homedir(), chosen.slice(2)) : chosen);
  }
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mllab', 'runs');
}

export function markerPath(journal: string, id: string): string {
  return path.join(journal, '.shipped', `${id}.json`);
}

/** What the lab holds of one file of the run: its size and change time (ns) when sent, and its sha256. */
export interface SentFile {
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly sha256: string;
}

/** MLLAB_KEEP_SHIPPED=1 keeps a run's directory in the journal once the lab holds all of it. */
export const KEEP_SHIPPED_ENV = 'MLLAB_KEEP_SHIPPED';

/**
 * Removes a run the lab holds all of from the journal (its directory, then its marker), so that the
 * journal does not grow forever; MLLAB_KEEP_SHIPPED=1 keeps both. A prune cut short leaves a marker
 * saying done (the run is not sent again) or a run directory without a marker (sent again: the lab
 * compares what it holds); either is finished by the next sync.
 */
export function prune(journal: string, id: string, env: NodeJS.ProcessEnv = process.env): void {
  if ((env[KEEP_SHIPPED_ENV] ?? '') !== '' && env[KEEP_SHIPPED_ENV] !== '0') {
    return;
  }
  fs.rmSync(path.join(journal, id), { recursive: true, force: true });
  fs.rmSync(markerPath(journal, id), { force: true });
}

/**
 * What the lab acknowledged of a run sent to the lab at `url`: events up to a byte offset, the
 * sha256 of the manifest, each file, each output log's offset, the files skipped (a name the lab
 * cannot take, said once in the run), and whether the ended run is all sent (`done`). A marker
 * written for another lab counts as nothing sent.
 */
export class Marker {
  events = 0;
  manifest: string | null = null;
  files = new Map<string, SentFile>();
  logs = new Map<string, number>();
  skipped: string[] = [];
  done = false;

  constructor(
    readonly file: string,
    readonly url: string,
  ) {
    let saved: Record<string, unknown>;
    try {
      saved = JSON.parse(quoteLongIntegers(fs.readFileSync(file, 'utf8'))) as Record<string, unknown>;
    } catch {
      return; // none yet, or unreadable: the lab's upload state says where to go on from
    }
    if (saved === null || typeof saved !== 'object' || saved.url !== url) {
      return;
    }
    this.events = Number.isSafeInteger(Number(saved.events)) ? Math.max(0, Number(saved.events)) : 0;
    this.manifest = typeof saved.manifest === 'string' ? saved.manifest : null;
    this.done = saved.done === true;
    const logs = saved.logs !== null && typeof saved.logs === 'object' ? saved.logs : {};
    for (const [rel, offset] of Object.entries(logs as Record<string, unknown>)) {
      if (Number.isSafeInteger(Number(offset)) && Number(offset) >= 0) {
        this.logs.set(rel, Number(offset));
      }
    }
    this.skipped = Array.isArray(saved.skipped) ? saved.skipped.filter((r): r is string => typeof r === 'string') : [];
    const files = saved.files !== null && typeof saved.files === 'object' ? saved.files : {};
    for (const [rel, entry] of Object.entries(files as Record<string, unknown>)) {
      const [size, mtime, sha256] = Array.isArray(entry) ? (entry as unknown[]) : [];
      if (typeof size === 'number' && typeof sha256 === 'string' && /^\d+(\.\d+)?$/.test(String(mtime))) {
        this.files.set(rel, { size, mtimeNs: BigInt(String(mtime).split('.')[0]), sha256 });
      }
    }
  }

  /** Writes the marker through a temp file (private, as the Python client writes it). */
  save(): void {
    const dir = path.dirname(this.file);
    fs.mkdirSync(dir, { recursive: true, mode: RUN_DIR_MODE });
    // a change time in ns does not fit a JSON number of JavaScript: written as the integer it is
    const files = [...this.files].map(
      ([rel, f]) => `    ${JSON.stringify(rel)}: [${f.size}, ${f.mtimeNs.toString()}, ${JSON.stringify(f.sha256)}]`,
    );
    const text = [
      '{',
      `  "url": ${JSON.stringify(this.url)},`,
      `  "events": ${this.events},`,
      `  "manifest": ${JSON.stringify(this.manifest)},`,
      files.length === 0 ? '  "files": {},' : `  "files": {\n${files.join(',\n')}\n  },`,
      `  "logs": ${JSON.stringify(Object.fromEntries(this.logs))},`,
      `  "skipped": ${JSON.stringify(this.skipped)},`,
      `  "done": ${this.done}`,
      '}',
      '',
    ].join('\n');
    const tmp = `${this.file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      fs.writeFileSync(tmp, text, { flag: 'wx', mode: RUN_FILE_MODE });
      fs.renameSync(tmp, this.file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  }
}

/**
 * JSON text with its integers of 16 digits or more (outside strings) in quotes, so that a change
 * time in ns written by the Python client is read exactly (JSON.parse would round it).
 */
export function quoteLongIntegers(text: string): string {
  let out = '';
  let inString = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i += 2;
        continue;
      }
      inString = c !== '"';
      i++;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      i++;
      continue;
    }
    const number = /^-?\d+([.eE][-+\d.eE]*)?/.exec(text.slice(i, i + 80))?.[0];
    if (number !== undefined) {
      out += /^-?\d{16,}$/.test(number) ? `"${number}"` : number;
      i += number.length;
      continue;
    }
    out += c;
    i++;
  }
  return out;
}
