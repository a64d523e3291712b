import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ApiClient } from '../api-client';
import { writeJsonAtomic } from '../../common/run-directory/files';
import { Marker, markerPath, prune, RUN_ID } from './journal';
import { describe, retryable, RunSender } from './ship-pass';
import { FIRST_PAUSE_MS, MAX_PAUSE_MS } from './shipper';

/**
 * Sends the runs of the local journal that the lab does not hold all of yet: a run that ended while
 * the lab could not be reached, or whose end did not wait long enough (as `python -m mllab sync`).
 */

export interface SyncResult {
  /** the runs now all in the lab */
  readonly sent: readonly string[];
  /** the runs not all sent, each with why */
  readonly left: readonly { readonly id: string; readonly reason: string }[];
}

/** Whether run.json says the run goes on in a process of this machine, which sends it itself. */
function stillRunning(dir: string): boolean {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as {
      status?: unknown;
      pid?: unknown;
      host?: { hostname?: unknown } | null;
    };
    if (m.status !== 'running' || typeof m.pid !== 'number' || !Number.isSafeInteger(m.pid) || m.pid <= 0) {
      return false;
    }
    const host = m.host?.hostname;
    if (host !== undefined && host !== null && host !== os.hostname()) {
      return false;
    }
    process.kill(m.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/**
 * A run whose process on this machine is gone while its run.json says it runs (killed, a machine that
 * went down): recorded as interrupted, as the lab records a local run whose process died, so that the
 * lab gets the run's end with the rest of it.
 */
function endInterrupted(dir: string): void {
  const file = path.join(dir, 'run.json');
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> & {
      host?: { hostname?: unknown } | null;
    };
    const host = m.host?.hostname;
    if (m.status !== 'running' || (host !== undefined && host !== null && host !== os.hostname())) {
      return; // ended, or recorded on another machine: its process cannot be asked about here
    }
    const endedAt = fs.statSync(file).mtime.toISOString();
    writeJsonAtomic(file, { ...m, status: 'interrupted', endedAt, exitCode: null });
  } catch {
    // unreadable: sent as it is
  }
}

/** Markers of runs all sent whose run directory is gone (a prune cut short). */
function pruneOrphans(journal: string, url: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(journal, '.shipped'));
  } catch {
    return;
  }
  for (const name of names) {
    const id = name.replace(/\.json$/, '');
    if (RUN_ID.test(id) && !fs.existsSync(path.join(journal, id)) && new Marker(markerPath(journal, id), url).done) {
      prune(journal, id);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends every run of `journal` not all sent yet to the lab of `client`; a run is tried again (with a
 * growing pause) until `timeoutSeconds` have passed since the sync began. `say` gets a line per run.
 */
export async function syncJournal(
  client: ApiClient,
  journal: string,
  timeoutSeconds: number,
  say: (line: string) => void,
): Promise<SyncResult> {
  const sent: string[] = [];
  const left: { id: string; reason: string }[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(journal).sort();
  } catch {
    return { sent, left };
  }
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (const name of names) {
    const dir = path.join(journal, name);
    if (!RUN_ID.test(name) || !fs.lstatSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      continue;
    }
    if (new Marker(markerPath(journal, name), client.baseUrl).done) {
      prune(journal, name); // all sent before: what a prune cut short left
      continue;
    }
    if (stillRunning(dir)) {
      continue;
    }
    endInterrupted(dir);
    const reason = await sendAll(new RunSender(client, dir, journal), deadline);
    if (reason === undefined) {
      sent.push(name);
      say(`sent run ${name} to ${client.baseUrl}`);
    } else {
      left.push({ id: name, reason });
      say(`run ${name} is not all sent: ${reason}`);
    }
  }
  pruneOrphans(journal, client.baseUrl);
  return { sent, left };
}

/** Sends the whole run, trying again until `deadline`; undefined when done, else why not. */
async function sendAll(sender: RunSender, deadline: number): Promise<string | undefined> {
  let pause = FIRST_PAUSE_MS;
  for (;;) {
    let reason: string;
    try {
      await sender.resume();
      if (await sender.send(true)) {
        sender.marker.done = true;
        sender.marker.save();
        sender.prune();
        return undefined;
      }
      reason = 'an unfinished last line, or a file that changed while it was sent';
    } catch (e) {
      if (!retryable(e)) {
        return describe(e);
      }
      reason = describe(e);
    }
    if (Date.now() + pause > deadline) {
      return reason;
    }
    await sleep(pause);
    pause = Math.min(pause * 2, MAX_PAUSE_MS);
  }
}
