import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Backend } from '../../src/backend/app';
import { MemoryLogger, type Logger } from '../../src/backend/log';
import { listenOptions } from '../../src/backend/main';
import { ApiClient } from '../../src/client/api-client';
import { EventStream } from '../../src/client/event-stream';
import type { BackendEvent } from '../../src/protocol/api';
import type { CreatedToken, Role } from '../../src/protocol/users';
import { makeCertificate } from './certificate';
import { raw, tempHome, TEST_TOKEN, type RawResponse } from './helpers';

export interface ServedLabOptions {
  readonly log?: Logger;
  /** the name of the certificate's files in the temp folder (`<name>.crt`, `<name>.key`) */
  readonly certName?: string;
  /** serve plain HTTP on 127.0.0.1 (as behind a reverse proxy that terminates TLS) instead of TLS */
  readonly plain?: boolean;
  /** `mllab serve --trust-proxy`: the addresses whose X-Forwarded-* headers the lab believes */
  readonly trustProxy?: string;
}

/** What a request to a served lab may carry besides its method, path and token. */
export interface LabRequestOptions {
  /** sent as is; an object is sent as JSON */
  readonly body?: string | Buffer | object;
  readonly headers?: Record<string, string>;
}

/**
 * A lab served to a team in this test process (`mllab serve --listen 127.0.0.1:0` over TLS with a
 * certificate made by openssl), in a fresh temp folder: the set-up the team-lab tests share.
 */
export class ServedLab {
  /** the temp folder holding the lab home, the certificate and whatever a test writes beside them */
  readonly root: string;
  /** the certificate's files (the CA a client trusts); empty when `plain` */
  readonly caFile: string;
  readonly keyFile: string;
  private readonly tlsCa: Buffer | undefined;
  readonly log: Logger;

  private constructor(
    readonly home: string,
    private readonly cleanup: () => void,
    private readonly options: ServedLabOptions & { readonly log: Logger },
    /** the running backend: another one after `restart` */
    public backend: Backend,
  ) {
    this.root = path.dirname(home);
    this.caFile = options.plain ? '' : path.join(this.root, `${options.certName ?? 'lab'}.crt`);
    this.keyFile = options.plain ? '' : path.join(this.root, `${options.certName ?? 'lab'}.key`);
    this.tlsCa = options.plain ? undefined : fs.readFileSync(this.caFile);
    this.log = options.log;
  }

  static async start(options: ServedLabOptions = {}): Promise<ServedLab> {
    const { home, cleanup } = tempHome();
    fs.mkdirSync(home, { recursive: true });
    if (!options.plain) {
      makeCertificate(path.dirname(home), options.certName);
    }
    const settled = { ...options, log: options.log ?? new MemoryLogger() };
    try {
      return new ServedLab(home, cleanup, settled, await startBackendOf(home, settled));
    } catch (e) {
      cleanup();
      throw e;
    }
  }

  /** the certificate a client trusts (a plain lab has none) */
  get ca(): Buffer {
    if (!this.tlsCa) {
      throw new Error('This lab is served over plain HTTP: it has no certificate.');
    }
    return this.tlsCa;
  }

  /** the served port (TLS unless `plain`); `backend.port` is the registration file's plain loopback port */
  get port(): number {
    return Number(new URL(this.backend.url).port);
  }

  get url(): string {
    return this.backend.url;
  }

  /** A request on the served port; `token` null sends none, undefined the owner's (TEST_TOKEN). */
  request(
    method: string,
    urlPath: string,
    token?: string | null,
    options: LabRequestOptions = {},
  ): Promise<RawResponse> {
    const { body, headers } = options;
    const sent = body === undefined || typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    return raw(this.port, method, urlPath, { token, ca: this.tlsCa, body: sent, headers });
  }

  /** Adds a user with this lab role (as the owner). */
  async addUser(name: string, role: Role): Promise<void> {
    const res = await this.request('POST', '/api/users', TEST_TOKEN, { body: { name, role } });
    assert.strictEqual(res.status, 201, res.text);
  }

  /** A new token of a user (as the owner); `extra`: label, expiresInSeconds, scope. */
  async tokenFor(user: string, extra: Record<string, unknown> = {}): Promise<CreatedToken> {
    const res = await this.request('POST', '/api/tokens', TEST_TOKEN, { body: { user, ...extra } });
    assert.strictEqual(res.status, 201, res.text);
    return res.json() as CreatedToken;
  }

  /** A new user with this lab role, and a token of theirs. */
  async userToken(name: string, role: Role): Promise<string> {
    await this.addUser(name, role);
    return (await this.tokenFor(name)).token;
  }

  /** The Node client of the lab over its served port, with this token (default: the owner's). */
  client(token = TEST_TOKEN): ApiClient {
    return new ApiClient({ url: this.url, token, ca: this.tlsCa, tokenFrom: 'MLLAB_TOKEN' });
  }

  /** Stops the backend and starts another on the same home and certificate (a new served port). */
  async restart(): Promise<void> {
    await this.backend.stop('restart');
    this.backend = await startBackendOf(this.home, this.options);
  }

  /** Stops the lab and removes its temp folder. */
  async stop(): Promise<void> {
    try {
      await this.backend.stop('test done');
    } finally {
      this.cleanup();
    }
  }
}

function startBackendOf(home: string, options: ServedLabOptions & { readonly log: Logger }): Promise<Backend> {
  const root = path.dirname(home);
  const name = options.certName ?? 'lab';
  return Backend.start({
    home,
    token: TEST_TOKEN,
    version: '0.0.0-test',
    log: options.log,
    listen: listenOptions({
      listen: '127.0.0.1:0',
      tlsCert: options.plain ? undefined : path.join(root, `${name}.crt`),
      tlsKey: options.plain ? undefined : path.join(root, `${name}.key`),
      trustProxy: options.trustProxy,
    }),
  });
}

/** The events a window following a lab's event stream received, and a way to wait for one. */
export interface FollowedEvents {
  readonly events: BackendEvent[];
  /** resolves with the first event (received or to come) that matches; rejects if the stream closes first */
  next<T extends BackendEvent>(match: (event: BackendEvent) => event is T, what: string): Promise<T>;
  close(): void;
}

/** Follows the event stream of `client`'s lab, as a window connected to it does (the Node client's EventStream). */
export function followEvents(client: ApiClient): FollowedEvents {
  const events: BackendEvent[] = [];
  const waiting = new Set<() => void>();
  let closed: string | undefined;
  const stream = new EventStream(
    client,
    (event) => {
      events.push(event);
      waiting.forEach((w) => w());
    },
    (reason) => {
      closed = reason;
      waiting.forEach((w) => w());
    },
  );
  return {
    events,
    next: (match, what) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = events.find(match);
          if (found) {
            waiting.delete(check);
            resolve(found);
          } else if (closed !== undefined) {
            waiting.delete(check);
            reject(new Error(`the event stream closed (${closed}) before ${what}`));
          }
        };
        waiting.add(check);
        check();
      }),
    close: () => stream.dispose(),
  };
}
