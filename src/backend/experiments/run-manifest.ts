import * as fs from 'fs';
import type { RunManifest } from '../../protocol/experiments';
import { RUN_LIMITS } from '../../protocol/limits';
import { openInside, UnsafePathError } from '../files/copy';
import type { Logger } from '../log';
import { STATUSES } from './run-state';

/** The text of an opened run.json (closed here), or undefined when it cannot be read whole. */
function readOpened(opened: { fd: number; size: number }): string | undefined {
  try {
    const buffer = Buffer.allocUnsafe(opened.size);
    let got = 0;
    while (got < opened.size) {
      const n = fs.readSync(opened.fd, buffer, got, opened.size - got, got);
      if (n === 0) {
        break;
      }
      got += n;
    }
    return buffer.toString('utf8', 0, got);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(opened.fd);
  }
}

/**
 * The run.json of a run directory as the details of a run show it: read like the ingest reads it
 * (bounded, no link followed), or why it could not be.
 */
export function readRunManifest(dir: string): { manifest: RunManifest } | { problem: string } {
  let text: string | undefined;
  try {
    text = readOpened(openInside(dir, 'run.json', RUN_LIMITS.manifestBytes));
  } catch (e) {
    return { problem: (e as Error).message };
  }
  try {
    const m = JSON.parse(text ?? '') as RunManifest | null;
    if (m && typeof m === 'object' && !Array.isArray(m)) {
      return { manifest: m };
    }
  } catch {
    // below
  }
  return { problem: 'it is not a valid run manifest' };
}

/**
 * Reads and parses the run.json of run directories, saying each problem of a run once in the log
 * (a run is passed again and again while it is followed).
 */
export class ManifestReader {
  /** run.json files refused (a link, not a regular file, too big): why, by run id */
  private readonly refused = new Map<string, string>();
  /** run.json files that are not a manifest: what was read, by run id */
  private readonly bad = new Map<string, string>();

  constructor(private readonly log: Logger) {}

  /** Why the run.json of a run was last refused, if it was. */
  refusal(id: string): string | undefined {
    return this.refused.get(id);
  }

  /**
   * The text of run.json, read without following a symbolic link (a job writes its run directory).
   * A refused run.json leaves the manifest read before (`readBefore`, if any) in place, with a warning.
   */
  read(id: string, dir: string, readBefore: () => string | undefined): string | undefined {
    let opened: { fd: number; size: number };
    try {
      opened = openInside(dir, 'run.json', RUN_LIMITS.manifestBytes);
    } catch (e) {
      if (e instanceof UnsafePathError && e.reason !== 'missing') {
        const reason = e.message.replace(/^"run.json" /, '');
        if (this.refused.get(id) !== reason) {
          this.refused.set(id, reason);
          this.log.warn(`experiments: run ${id}: run.json ${reason}: it is not read`);
        }
        return readBefore();
      }
      if (!(e instanceof UnsafePathError)) {
        throw e; // EMFILE, EIO...: not a missing run.json, the caller retries the run
      }
      return undefined; // not written yet (the client writes it atomically)
    }
    this.refused.delete(id);
    return readOpened(opened);
  }

  /** The manifest in `text`, or undefined (logged once per text) when it has no known status. */
  parse(id: string, text: string): RunManifest | undefined {
    let m: Partial<RunManifest> | null;
    try {
      m = JSON.parse(text) as Partial<RunManifest> | null;
    } catch (e) {
      m = null;
      text = `${text.length}:${(e as Error).message}`;
    }
    if (m && typeof m === 'object' && typeof m.status === 'string' && STATUSES.has(m.status)) {
      this.bad.delete(id);
      return m as RunManifest;
    }
    if (this.bad.get(id) !== text) {
      this.bad.set(id, text);
      this.log.warn(
        `experiments: run ${id}: run.json is not a valid run manifest (no known "status"); it is ingested once it is`,
      );
    }
    return undefined;
  }
}
