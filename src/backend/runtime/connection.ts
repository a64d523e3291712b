import type { DockerStatus } from '../../protocol/containers';
import type { Logger } from '../log';
import { RuntimeError } from './errors';
import type { ContainerEvent, ContainerRuntime, EventSubscription } from './runtime';

export interface ConnectionListener {
  /** the engine answers (again): reconcile what happened while it did not */
  onAvailable(): Promise<void>;
  /** the engine stopped answering */
  onUnavailable(reason: string): void;
  onEvent(e: ContainerEvent): void;
}

/**
 * Keeps one event stream of the engine open for the containers labelled with this lab home. When
 * the stream ends (the daemon stopped), the listeners hear it at once, and the stream is re-opened
 * with a growing delay (0.5 s to 5 s) until the daemon answers again; then the listeners reconcile.
 */
export class RuntimeConnection {
  private subscription: EventSubscription | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private delayMs = 500;
  private closed = false;
  private connecting: Promise<void> | undefined;
  private current: DockerStatus = { available: false, message: 'Connecting to Docker...' };
  private readonly listeners: ConnectionListener[] = [];
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly runtime: ContainerRuntime,
    private readonly labels: Readonly<Record<string, string>>,
    private readonly log: Logger,
    private readonly onStatus: (s: DockerStatus) => void = () => {},
    /**
     * A ping this often while connected; one that fails counts as the stream's end. For an engine on
     * another machine, whose event stream may hang without ending when the machine or the network
     * goes (a local daemon that stops ends its stream at once).
     */
    private readonly heartbeatMs?: number,
  ) {}

  get status(): DockerStatus {
    return this.current;
  }

  /** A RuntimeError saying what to do when the engine does not answer right now. */
  requireAvailable(): void {
    if (!this.current.available) {
      throw new RuntimeError(503, 'docker_unavailable', this.current.message);
    }
  }

  listen(l: ConnectionListener): void {
    this.listeners.push(l);
  }

  /**
   * Starts connecting; resolves after the first attempt (connected and reconciled, or failed), or
   * after `waitMs`, whichever comes first, while the connection goes on in the background.
   */
  start(waitMs: number): Promise<void> {
    const first = this.connect();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      timer.unref();
      void first.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Connects now instead of at the next retry (the Retry action). */
  async retry(): Promise<DockerStatus> {
    if (!this.current.available && !this.closed) {
      clearTimeout(this.retryTimer);
      await this.connect();
    }
    return this.current;
  }

  private setStatus(s: DockerStatus): void {
    const changed = s.available !== this.current.available || s.message !== this.current.message;
    this.current = s;
    if (changed) {
      this.onStatus(s);
    }
  }

  /** One attempt at a time: a Retry while the timer's attempt runs joins it. */
  private connect(): Promise<void> {
    this.connecting ??= this.attempt().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async attempt(): Promise<void> {
    if (this.closed || this.subscription) {
      return;
    }
    let version: string;
    let sub: EventSubscription;
    try {
      version = await this.runtime.ping();
      sub = await this.runtime.events(this.labels, (e) => this.listeners.forEach((l) => l.onEvent(e)));
    } catch (e) {
      this.setStatus({ available: false, message: (e as Error).message });
      this.scheduleRetry();
      return;
    }
    if (this.closed) {
      sub.close();
      return;
    }
    this.subscription = sub;
    this.delayMs = 500;
    this.log.info(`runtime: connected to ${version}`);
    this.setStatus({ available: true, message: version });
    void sub.ended.then(() => this.lost());
    if (this.heartbeatMs) {
      this.heartbeat = setInterval(() => void this.runtime.ping().catch(() => sub.close()), this.heartbeatMs);
      this.heartbeat.unref();
    }
    for (const l of this.listeners) {
      try {
        await l.onAvailable();
      } catch (e) {
        this.log.warn(`runtime: reconciling after connecting failed: ${(e as Error).message}`);
      }
    }
  }

  private lost(): void {
    this.subscription = undefined;
    clearInterval(this.heartbeat);
    if (this.closed) {
      return;
    }
    const reason = 'Docker stopped answering: start it and press Retry.';
    this.log.warn(`runtime: the Docker event stream ended; reconnecting`);
    this.setStatus({ available: false, message: reason });
    this.listeners.forEach((l) => l.onUnavailable(reason));
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed) {
      return;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), this.delayMs);
    this.retryTimer.unref();
    this.delayMs = Math.min(this.delayMs * 2, 5000);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    this.subscription?.close();
    this.subscription = undefined;
  }
}
