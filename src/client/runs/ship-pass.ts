import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BackendError, type ApiClient } from '../api-client';
import { hasFile, postEvents, putFile, putManifest, uploadState } from '../run-upload';
import { Marker, markerPath } from './journal';

/** Events sent in one request at most (the lab takes up to 8 MiB). */
export const EVENTS_CHUNK = 4 * 1024 * 1024;
/** Files read whole to hash and send; bigger ones are streamed twice (hashed, then sent). */
const IN_MEMORY_FILE = 16 * 1024 * 1024;
/** While a run goes on, its growing output logs are sent at most this often (ms). */
const LOG_INTERVAL_MS = 5000;
/** The files with routes of their own. */
const OWN = new Set(['run.json', 'events.jsonl']);

/** The lab refused a request in a way no retry changes (a refused token, a role, a bad run): stop. */
export class ShipRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code = '',
  ) {
    super(message);
  }
}

/** TLS failures a retry does not mend (the others, e.g. a handshake cut short, are tried again). */
const LASTING = new Set(['tls_untrusted', 'tls_expired', 'tls_wrong_host']);

/**
 * Whether an error of a request is worth a retry: the connection failed or was cut (status 0), or
 * the lab (or its proxy) answered 5xx. Anything else the lab refused becomes a ShipRefused.
 */
export function retryable(e: unknown): boolean {
  if (e instanceof ShipRefused) {
    return false;
  }
  if (e instanceof BackendError) {
    return (e.status === 0 && !LASTING.has(e.code)) || e.status >= 500;
  }
  return true; // a file of the journal that cannot be read now, a full disk: looked at again later
}

/** The message of an error of a pass, for a person. */
export function describe(e: unknown): string {
  if (e instanceof ShipRefused || (e instanceof BackendError && !retryable(e))) {
    return `the lab refused it (${e.status > 0 ? `${e.status} ` : ''}${e.message})`;
  }
  if (e instanceof BackendError) {
    return `the lab could not be reached (${e.message})`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Calls `fn`; a BackendError that no retry mends becomes a ShipRefused. */
async function refusedOrRetry<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof BackendError && !retryable(e)) {
      throw new ShipRefused(e.message, e.status, e.code);
    }
    throw e;
  }
}

/** Whether run.json says the run goes on (a final one is sent only after the events it follows). */
function running(manifest: Buffer): boolean {
  try {
    return (JSON.parse(manifest.toString('utf8')) as { status?: unknown } | null)?.status === 'running';
  } catch {
    return false;
  }
}

const sha256Of = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/** The regular files of the run directory (no link followed) but run.json, events.jsonl and temp files. */
function localFiles(dir: string): Map<string, fs.BigIntStats> {
  const found = new Map<string, fs.BigIntStats>();
  const walk = (folder: string, prefix: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const rel = prefix + entry.name;
      if (entry.name.includes('.tmp-')) {
        continue;
      }
      if (entry.isDirectory()) {
        walk(path.join(folder, entry.name), `${rel}/`);
      } else if (entry.isFile() && !OWN.has(rel)) {
        const st = fs.lstatSync(path.join(folder, entry.name), { bigint: true, throwIfNoEntry: false });
        if (st?.isFile()) {
          found.set(rel, st);
        }
      }
    }
  };
  walk(dir, '');
  return found;
}

/**
 * Sends one run directory of the local journal to the lab, as the Python client's sender does:
 * events.jsonl by byte offset and whole lines only (a retry of bytes the lab holds is compared, not
 * appended), every other file by sha256, run.json whenever it changed. The manifest of a running run
 * goes first (the run shows at once), files before the events that name them (a model event needs
 * its file), events before the manifest that follows them. What the lab acknowledged is kept in the
 * marker, so a sender that stopped goes on where the lab is.
 */
export class RunSender {
  readonly id: string;
  readonly marker: Marker;
  private logsSent = 0;

  constructor(
    readonly client: ApiClient,
    readonly dir: string,
    journal: string,
  ) {
    this.id = path.basename(dir);
    this.marker = new Marker(markerPath(journal, this.id), client.baseUrl);
  }

  /** Takes what the lab holds of the run as the starting point (it may hold less than the marker says). */
  async resume(): Promise<void> {
    const state = await refusedOrRetry(() => uploadState(this.client, this.id));
    const stored = new Map(state.files.map((f) => [f.path, f.sha256]));
    this.marker.events = state.eventsSize;
    this.marker.manifest = state.manifestSha256;
    for (const [rel, sent] of [...this.marker.files]) {
      if (stored.get(rel) !== sent.sha256) {
        this.marker.files.delete(rel);
      }
    }
    this.marker.done = this.marker.done && this.marker.manifest !== null;
    this.marker.save();
  }

  /**
   * One pass: sends what changed. True when the lab holds all of the run as it was when the pass
   * began (with `final`, the growing output logs are sent too, whatever their age).
   */
  async send(final: boolean): Promise<boolean> {
    const manifest = this.read('run.json');
    const manifestSha = manifest && sha256Of(manifest);
    if (manifest && this.marker.manifest === null && running(manifest)) {
      await this.sendManifest(manifest, manifestSha!);
    }
    const eventsEnd = this.eventsSize();
    const filesDone = await this.sendFiles(final);
    const eventsDone = await this.sendEvents(eventsEnd);
    if (manifest && manifestSha !== this.marker.manifest) {
      await this.sendManifest(manifest, manifestSha!);
    }
    return filesDone && eventsDone && manifest !== undefined;
  }

  private read(name: string): Buffer | undefined {
    try {
      return fs.readFileSync(path.join(this.dir, name));
    } catch {
      return undefined;
    }
  }

  private eventsSize(): number {
    return fs.statSync(path.join(this.dir, 'events.jsonl'), { throwIfNoEntry: false })?.size ?? 0;
  }

  private async sendManifest(data: Buffer, sha256: string): Promise<void> {
    await refusedOrRetry(() => putManifest(this.client, this.id, data));
    this.marker.manifest = sha256;
    this.marker.save();
  }

  /** Sends events.jsonl from the acknowledged offset to `end`, whole lines only. */
  private async sendEvents(end: number): Promise<boolean> {
    if (this.marker.events >= end) {
      return true;
    }
    const fd = fs.openSync(path.join(this.dir, 'events.jsonl'), 'r');
    try {
      while (this.marker.events < end) {
        const offset = this.marker.events;
        const chunk = Buffer.alloc(Math.min(EVENTS_CHUNK, end - offset));
        const got = fs.readSync(fd, chunk, 0, chunk.length, offset);
        const cut = chunk.subarray(0, got).lastIndexOf(0x0a) + 1;
        if (cut === 0) {
          return false; // an unfinished line: sent once it is whole
        }
        const { status, answer } = await refusedOrRetry(() =>
          postEvents(this.client, this.id, offset, chunk.subarray(0, cut)),
        );
        if (status === 409 && answer.error?.code !== 'offset_ahead') {
          throw new ShipRefused(
            answer.error?.message ?? `the lab refused the events at byte ${offset}`,
            status,
            answer.error?.code,
          );
        }
        if (!Number.isSafeInteger(answer.size) || answer.size < 0 || answer.size > this.eventsSize()) {
          throw new ShipRefused(
            `the lab holds ${answer.size} bytes of the events of run ${this.id}, more than this journal: another copy of the run was sent; record it as a new run`,
            status,
          );
        }
        this.marker.events = answer.size;
        this.marker.save();
      }
    } finally {
      fs.closeSync(fd);
    }
    return true;
  }

  private async sendFiles(final: boolean): Promise<boolean> {
    let done = true;
    const now = Date.now();
    const logsDue = final || now - this.logsSent >= LOG_INTERVAL_MS;
    for (const [rel, st] of [...localFiles(this.dir)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const sent = this.marker.files.get(rel);
      if (sent && BigInt(sent.size) === st.size && sent.mtimeNs === st.mtimeNs) {
        continue;
      }
      if (rel.endsWith('.log') && !rel.includes('/') && !logsDue) {
        done = false;
        continue;
      }
      if (!(await this.sendFile(rel, st))) {
        done = false;
      }
    }
    if (logsDue) {
      this.logsSent = now;
    }
    return done;
  }

  private async sendFile(rel: string, st: fs.BigIntStats): Promise<boolean> {
    const full = path.join(this.dir, ...rel.split('/'));
    const size = Number(st.size);
    let sha256: string;
    try {
      if (size <= IN_MEMORY_FILE) {
        const data = fs.readFileSync(full);
        sha256 = sha256Of(data);
        await refusedOrRetry(() => putFile(this.client, this.id, rel, sha256, data));
      } else {
        sha256 = await sha256OfFile(full);
        if (!(await refusedOrRetry(() => hasFile(this.client, this.id, rel, sha256)))) {
          await refusedOrRetry(() => putFile(this.client, this.id, rel, sha256, { source: full, size }));
        }
      }
    } catch (e) {
      if (e instanceof ShipRefused && e.code === 'hash_mismatch') {
        return false; // changed while it was sent: sent again on the next pass
      }
      if (!(e instanceof BackendError) && !(e instanceof ShipRefused)) {
        return false; // gone or unreadable now: looked at again on the next pass
      }
      throw e;
    }
    this.marker.files.set(rel, { size, mtimeNs: st.mtimeNs, sha256 });
    this.marker.save();
    return true;
  }
}
