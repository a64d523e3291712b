import { ApiClient } from '../api-client';
import type { RemoteLab } from '../connect';
import { describe, retryable, RunSender } from './ship-pass';

/**
 * The task that sends a run recorded for a lab over the network while it runs, as the Python
 * client's shipper thread does. Logging never waits for it: the experiment appends to events.jsonl
 * in the local journal, and this task reads the file and sends what is new. A network error or a
 * 5xx is tried again with a growing pause (the lab restarting, a dropped connection, a laptop
 * asleep); a refusal (401, 403, ...) stops it with the lab's message, the run staying in the
 * journal. The run's end waits for it at most MLLAB_SHIP_TIMEOUT seconds (default 30); `mllab sync`
 * sends whatever is left. While the run goes on without anything new to send, a heartbeat tells the
 * lab its sender lives (a run whose sender falls silent is marked interrupted there); once the ended
 * run is all in the lab, it is removed from the journal.
 */

export const SHIP_TIMEOUT_ENV = 'MLLAB_SHIP_TIMEOUT';
export const DEFAULT_SHIP_TIMEOUT_S = 30;
/** the longest wait MLLAB_SHIP_TIMEOUT may ask for (a day) */
const MAX_SHIP_TIMEOUT_S = 86_400;
/** between two passes while the run goes on */
const PASS_INTERVAL_MS = 200;
/** the pause after a failed pass doubles from FIRST_PAUSE_MS up to MAX_PAUSE_MS */
export const FIRST_PAUSE_MS = 200;
export const MAX_PAUSE_MS = 5000;
/** Seconds without a request after which the shipper of a running run tells the lab it lives. */
export const HEARTBEAT_ENV = 'MLLAB_SHIP_HEARTBEAT';
const DEFAULT_HEARTBEAT_S = 10;

/** MLLAB_SHIP_HEARTBEAT in ms (at least 100 ms), else 10 s. */
export function heartbeatMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env[HEARTBEAT_ENV]?.trim() || NaN);
  return Number.isFinite(seconds) ? Math.max(0.1, seconds) * 1000 : DEFAULT_HEARTBEAT_S * 1000;
}

/** Seconds the end of a run waits for its shipper: MLLAB_SHIP_TIMEOUT, else 30. */
export function shipTimeoutSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const text = env[SHIP_TIMEOUT_ENV]?.trim();
  const value = text ? Number(text) : NaN;
  return Number.isFinite(value) ? Math.min(Math.max(0, value), MAX_SHIP_TIMEOUT_S) : DEFAULT_SHIP_TIMEOUT_S;
}

/** A client of the lab for sending runs: no request is made until the first pass. */
export function shipClient(lab: RemoteLab): ApiClient {
  return new ApiClient({ url: lab.url, token: lab.token, tokenFrom: lab.tokenFrom, ...(lab.ca ? { ca: lab.ca } : {}) });
}

const sayOnStderr = (message: string) => void process.stderr.write(`mllab: ${message}\n`);

export class Shipper {
  private readonly sender: RunSender;
  private finishing = false;
  private stopped = false;
  private refused: string | undefined;
  private complete = false;
  private wakeUp: (() => void) | undefined;
  private settle!: (complete: boolean) => void;
  /** true once the lab holds the whole ended run; false when the shipper stopped before */
  readonly drained = new Promise<boolean>((resolve) => (this.settle = resolve));

  constructor(
    private readonly client: ApiClient,
    runDir: string,
    journal: string,
    private readonly say: (message: string) => void = sayOnStderr,
  ) {
    this.sender = new RunSender(client, runDir, journal);
    void this.loop().finally(() => {
      this.settle(false);
      client.dispose();
    });
  }

  get id(): string {
    return this.sender.id;
  }

  /** why the lab refused the run, once it did (the shipper then stopped) */
  get refusal(): string | undefined {
    return this.refused;
  }

  private async loop(): Promise<void> {
    let resumed = false;
    let pause = FIRST_PAUSE_MS;
    let said: string | undefined;
    const beat = heartbeatMs();
    while (!this.stopped) {
      const finishing = this.finishing; // read before the pass: the final run.json is written by then
      const acknowledged = this.sender.marker.events;
      try {
        if (!resumed) {
          await this.sender.resume();
          resumed = true;
        }
        const complete = await this.sender.send(finishing);
        pause = FIRST_PAUSE_MS;
        if (complete && finishing) {
          this.sender.marker.done = true;
          this.sender.marker.save();
          this.sender.prune();
          this.complete = true;
          this.settle(true);
          return;
        }
        if (Date.now() - this.sender.lastAnswer >= beat) {
          await this.sender.heartbeat();
        }
        await this.pause(PASS_INTERVAL_MS);
      } catch (e) {
        if (this.stopped) {
          return;
        }
        if (!retryable(e)) {
          this.refused = describe(e);
          this.say(
            `run ${this.id} is not sent to ${this.client.baseUrl}: ${this.refused}. It stays in ${this.sender.dir}; fix the cause, then run "mllab sync".`,
          );
          return;
        }
        if (this.sender.marker.events > acknowledged) {
          pause = FIRST_PAUSE_MS; // the pass got on before it failed: the link works, mostly
        }
        const message = describe(e);
        if (message !== said && pause >= MAX_PAUSE_MS) {
          said = message;
          this.say(`run ${this.id}: ${message}; trying again`);
        }
        await this.pause(pause);
        pause = Math.min(pause * 2, MAX_PAUSE_MS);
      }
    }
  }

  /** Waits `ms`, or less when woken; the timer does not keep the process alive (the run's end does). */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  wake(): void {
    this.wakeUp?.();
  }

  /**
   * After the run's end: waits at most `timeoutSeconds` until the lab holds all of it (true), then
   * stops the shipper. What is not sent by then stays in the journal for `mllab sync`, and is said.
   */
  async finish(timeoutSeconds = shipTimeoutSeconds()): Promise<boolean> {
    this.finishing = true;
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.drained,
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutSeconds * 1000))),
    ]);
    clearTimeout(timer);
    this.leave();
    return done;
  }

  /** At the process's exit: stops at once, saying what is left, if anything. */
  abandon(): void {
    if (!this.stopped) {
      this.leave();
    }
  }

  private leave(): void {
    this.stop();
    if (!this.complete && this.refused === undefined) {
      this.say(
        `run ${this.id} is not all sent to ${this.client.baseUrl} yet: it stays in ${this.sender.dir}; "mllab sync" sends the rest.`,
      );
    }
  }

  /** Stops at once (a request under way is cut): at the process's exit, or after `finish`. */
  stop(): void {
    this.stopped = true;
    this.wake();
    this.client.dispose();
  }
}
