import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { EVENTS_CHUNK_BYTES, RUN_FILE_PATH_CHARS, RUN_LOG_PATTERN } from '../../protocol/routes/run-upload';
import { BackendError, type ApiClient } from '../api-client';
import { hasFile, postEvents, putFile, putManifest, uploadState } from '../run-upload';
import { Marker, markerPath, prune } from './journal';

/** Events sent in one request at most (the lab's limit): fewer, bigger requests, each synced once by the lab. */
export const EVENTS_CHUNK = EVENTS_CHUNK_BYTES;
/** Files read whole to hash and send; bigger ones are streamed twice (hashed, then sent). */
const IN_MEMORY_FILE = 16 * 1024 * 1024;
/** While a run goes on, what its output logs gained is sent at most this often (ms). */
const LOG_INTERVAL_MS = 2000;
/** The files with routes of their own. */
const OWN = new Set(['run.json', 'events.jsonl']);
/** The output logs sent by byte offset: files at the top of the run directory named `*.log`. */
const LOG = new RegExp(RUN_LOG_PATTERN);
/** Folders deep at most of a path the lab takes. */
const PATH_PARTS = 32;

/** Why the lab cannot take a file of the run by this relative path, or undefined when it can. */
export function unsendable(rel: string): string | undefined {
  if (rel.length > RUN_FILE_PATH_CHARS) {
    return `its path has ${rel.length} characters, more than the lab's ${RUN_FILE_PATH_CHARS}`;
  }
  const parts = rel.split('/').length;
  if (parts > PATH_PARTS) {
    return `its path has ${parts} parts, more than the lab's ${PATH_PARTS}`;
  }
  if (rel.includes('\\')) {
    return 'its name holds a backslash';
  }
  return undefined;
}

/** A path for a message: at most 200 characters. */
const shownName = (rel: string) => `"${rel.length <= 200 ? rel : `${rel.slice(0, 200)}...`}"`;

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

/**
 * The regular files of the run directory (no link followed) but run.json, events.jsonl and temp
 * files; `undecodable` gets the paths whose name is not UTF-8 (not even readable by a string path).
 */
function localFiles(dir: string, undecodable: string[]): Map<string, fs.BigIntStats> {
  const found = new Map<string, fs.BigIntStats>();
  const walk = (folder: string, prefix: string) => {
    let entries: fs.Dirent<Buffer>[];
    try {
      entries = fs.readdirSync(folder, { withFileTypes: true, encoding: 'buffer' });
    } catch {
      return;
    }
    for (const entry of entries) {
      const name = entry.name.toString('utf8');
      const rel = prefix + name;
      if (name.includes('.tmp-')) {
        continue;
      }
      if (!Buffer.from(name, 'utf8').equals(entry.name)) {
        undecodable.push(rel);
      } else if (entry.isDirectory()) {
        walk(path.join(folder, name), `${rel}/`);
      } else if (entry.isFile() && !OWN.has(rel)) {
        const st = fs.lstatSync(path.join(folder, name), { bigint: true, throwIfNoEntry: false });
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
  /** when the lab last answered a request of this run (Date.now()) */
  lastAnswer = 0;
  private manifestSeen: { key: string | undefined; data: Buffer | undefined; sha256: string | undefined } = {
    key: undefined,
    data: undefined,
    sha256: undefined,
  };

  constructor(
    readonly client: ApiClient,
    readonly dir: string,
    private readonly journal: string,
  ) {
    this.id = path.basename(dir);
    this.marker = new Marker(markerPath(journal, this.id), client.baseUrl);
  }

  /** A request of the run: a refusal no retry mends becomes a ShipRefused; an answer is the sender's sign of life. */
  private async request<T>(fn: () => Promise<T>): Promise<T> {
    const answer = await refusedOrRetry(fn);
    this.lastAnswer = Date.now();
    return answer;
  }

  /** Takes what the lab holds of the run as the starting point (it may hold less than the marker says). */
  async resume(): Promise<void> {
    const state = await this.request(() => uploadState(this.client, this.id));
    const stored = new Map(state.files.map((f) => [f.path, f.sha256]));
    this.marker.events = state.eventsSize;
    this.marker.manifest = state.manifestSha256;
    for (const [rel, sent] of [...this.marker.files]) {
      if (stored.get(rel) !== sent.sha256) {
        this.marker.files.delete(rel);
      }
    }
    this.marker.logs = new Map(state.files.filter((f) => LOG.test(f.path)).map((f) => [f.path, f.size]));
    this.marker.done = this.marker.done && this.marker.manifest !== null;
    this.marker.save();
  }

  /**
   * Tells the lab the run's sender lives (an empty append of events): a running run whose sender
   * falls silent is marked interrupted by the lab.
   */
  async heartbeat(): Promise<void> {
    await this.request(() => postEvents(this.client, this.id, this.marker.events, Buffer.alloc(0)));
  }

  /** The ended run is all in the lab: removes it from the journal (see `prune`). */
  prune(): void {
    prune(this.journal, this.id);
  }

  /**
   * One pass: sends what changed. True when the lab holds all of the run as it was when the pass
   * began (with `final`, the growing output logs are sent too, whatever their age).
   */
  async send(final: boolean): Promise<boolean> {
    const { data: manifest, sha256: manifestSha } = this.manifest();
    if (manifest && this.marker.manifest === null && running(manifest)) {
      await this.sendManifest(manifest, manifestSha!);
    }
    const eventsEnd = this.eventsSize();
    const acked = JSON.stringify([this.marker.events, [...this.marker.logs]]);
    const filesDone = await this.sendFiles(final);
    const eventsDone = this.marker.events >= eventsEnd || (await this.append('events.jsonl', eventsEnd, true));
    if (JSON.stringify([this.marker.events, [...this.marker.logs]]) !== acked) {
      this.marker.save();
    }
    if (manifest && manifestSha !== this.marker.manifest) {
      await this.sendManifest(manifest, manifestSha!);
    }
    return filesDone && eventsDone && manifest !== undefined;
  }

  /**
   * run.json and its sha256, read again only when its size, change time or inode changed (a pass runs
   * often while a run logs; the manifest changes at its start and end).
   */
  private manifest(): { data: Buffer | undefined; sha256: string | undefined } {
    const st = fs.statSync(path.join(this.dir, 'run.json'), { bigint: true, throwIfNoEntry: false });
    const key = st && `${st.size}:${st.mtimeNs}:${st.ino}`;
    if (key === undefined || key !== this.manifestSeen.key) {
      let data: Buffer | undefined;
      try {
        data = fs.readFileSync(path.join(this.dir, 'run.json'));
      } catch {
        data = undefined;
      }
      this.manifestSeen = { key: data && key, data, sha256: data && sha256Of(data) };
    }
    return this.manifestSeen;
  }

  private eventsSize(): number {
    return fs.statSync(path.join(this.dir, 'events.jsonl'), { throwIfNoEntry: false })?.size ?? 0;
  }

  private async sendManifest(data: Buffer, sha256: string): Promise<void> {
    await this.request(() => putManifest(this.client, this.id, data));
    this.marker.manifest = sha256;
    this.marker.save();
  }

  /**
   * Sends the append-only file `name` (events.jsonl, whole lines only, or an output log) from the
   * acknowledged offset until `end`. Each request takes what the file holds by then, up to
   * EVENTS_CHUNK: a run logging fast is sent in few big requests, not a full one and a small rest.
   */
  private async append(name: string, end: number, wholeLines: boolean): Promise<boolean> {
    const log = name === 'events.jsonl' ? undefined : name;
    const acked = () => (log === undefined ? this.marker.events : (this.marker.logs.get(name) ?? 0));
    const fd = fs.openSync(path.join(this.dir, name), 'r');
    try {
      let buffer = Buffer.allocUnsafe(Math.min(EVENTS_CHUNK, Math.max(end - acked(), 1)));
      while (acked() < end) {
        const offset = acked();
        const want = Math.min(EVENTS_CHUNK, fs.fstatSync(fd).size - offset);
        if (want > buffer.length) {
          buffer = Buffer.allocUnsafe(want);
        }
        const got = want > 0 ? fs.readSync(fd, buffer, 0, want, offset) : 0;
        const cut = wholeLines ? buffer.subarray(0, got).lastIndexOf(0x0a) + 1 : got;
        if (cut === 0) {
          return false; // an unfinished line: sent once it is whole
        }
        const { status, answer } = await this.request(() =>
          postEvents(this.client, this.id, offset, buffer.subarray(0, cut), log),
        );
        if (status === 409 && answer.error?.code !== 'offset_ahead') {
          throw new ShipRefused(
            answer.error?.message ?? `the lab refused ${name} at byte ${offset}`,
            status,
            answer.error?.code,
          );
        }
        if (!Number.isSafeInteger(answer.size) || answer.size < 0 || answer.size > fs.fstatSync(fd).size) {
          throw new ShipRefused(
            `the lab holds ${answer.size} bytes of ${name} of run ${this.id}, more than this journal: another copy of the run was sent; record it as a new run`,
            status,
          );
        }
        if (log === undefined) {
          this.marker.events = answer.size;
        } else {
          this.marker.logs.set(name, answer.size);
        }
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
    const undecodable: string[] = [];
    const files = [...localFiles(this.dir, undecodable)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const rel of undecodable.filter((r) => !this.marker.skipped.includes(r))) {
      this.skip(rel, 'its name is not valid UTF-8');
    }
    for (const [rel, st] of files) {
      if (this.marker.skipped.includes(rel)) {
        continue;
      }
      if (LOG.test(rel)) {
        const size = Number(st.size);
        if ((this.marker.logs.get(rel) ?? 0) >= size) {
          continue;
        }
        if (!logsDue || !(await this.append(rel, size, false))) {
          done = false;
        }
        continue;
      }
      const sent = this.marker.files.get(rel);
      if (sent && BigInt(sent.size) === st.size && sent.mtimeNs === st.mtimeNs) {
        continue;
      }
      const why = unsendable(rel);
      if (why !== undefined) {
        this.skip(rel, why);
      } else if (!(await this.sendFile(rel, st))) {
        done = false;
      }
    }
    if (logsDue) {
      this.logsSent = now;
    }
    return done;
  }

  /**
   * A file the lab cannot take: not sent, and said once in the run (a warning event in its journal,
   * sent with the other events), so that the rest of the run goes on being sent.
   */
  private skip(rel: string, why: string): void {
    const message = `the file ${shownName(rel)} was not sent to the lab: ${why}; rename it to send it`;
    const line = `${JSON.stringify({ k: 'warning', message, t: Date.now() })}\n`;
    try {
      const flags = fs.constants.O_WRONLY | fs.constants.O_APPEND | (fs.constants.O_NOFOLLOW ?? 0);
      const fd = fs.openSync(path.join(this.dir, 'events.jsonl'), flags);
      try {
        fs.writeSync(fd, line); // one write of a whole line, as the run's own writes are
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // the journal's events cannot be written: the file is skipped all the same
    }
    this.marker.skipped.push(rel);
    this.marker.save();
  }

  private async sendFile(rel: string, st: fs.BigIntStats): Promise<boolean> {
    const full = path.join(this.dir, ...rel.split('/'));
    const size = Number(st.size);
    let sha256: string;
    try {
      if (size <= IN_MEMORY_FILE) {
        const data = fs.readFileSync(full);
        sha256 = sha256Of(data);
        await this.request(() => putFile(this.client, this.id, rel, sha256, data));
      } else {
        sha256 = await sha256OfFile(full);
        if (!(await this.request(() => hasFile(this.client, this.id, rel, sha256)))) {
          await this.request(() => putFile(this.client, this.id, rel, sha256, { source: full, size }));
        }
      }
    } catch (e) {
      if (e instanceof ShipRefused && e.code === 'hash_mismatch') {
        return false; // changed while it was sent: sent again on the next pass
      }
      if (e instanceof ShipRefused && e.code === 'invalid_path') {
        this.skip(rel, e.message); // a name this lab refuses: the rest of the run goes on
        return true;
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
