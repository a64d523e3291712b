import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ApiClient } from '../api-client';
import { Marker, markerPath, RUN_ID } from './journal';
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
    if (new Marker(markerPath(journal, name), client.baseUrl).done || stillRunning(dir)) {
      continue;
    }
    const reason = await sendAll(new RunSender(client, dir, journal), deadline);
    if (reason === undefined) {
      sent.push(name);
      say(`sent run ${name} to ${client.baseUrl}`);
    } else {
      left.push({ id: name, reason });
      say(`run ${name} is not all sent: ${reason}`);
    }
  }
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
