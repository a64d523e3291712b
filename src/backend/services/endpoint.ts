import * as http from 'http';
import type * as net from 'net';

/** The largest request body forwarded (the model server takes as much). */
const MAX_BODY_BYTES = 64 * 1024 * 1024;
/** How long a request may wait for a replica that answers, in all. */
const DEADLINE_MS = 20_000;
/** A replica that failed to answer is left out this long (unless no other is left). */
const SUSPEND_MS = 2_000;
/** Connections kept open to one replica (reused request after request, as a client of a service would). */
const SOCKETS_PER_REPLICA = 64;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The lab's own endpoint of a service on a cluster: a port on 127.0.0.1 that forwards each request
 * to one of the service's healthy replicas in turn. Written by hand because it must follow the
 * replica set the engine reports as it changes, and because a request a replica did not answer (it
 * was being stopped by a rolling update: the connection refused or closed before an answer) is sent
 * again to another replica, so that no client sees a replica go. Requests are resent whole, which
 * suits what services of the lab answer (predictions: the same input gives the same answer).
 */
export class ReplicaEndpoint {
  private addresses: readonly string[] = [];
  private readonly suspended = new Map<string, number>();
  private turn = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();
  /** kept-alive connections to each replica: opening one per request costs more than the request */
  private readonly agents = new Map<string, http.Agent>();

  constructor(private readonly name: string) {
    this.server = http.createServer((req, res) => void this.forward(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  /** Listens on 127.0.0.1:port; a port in use is a clear 409 of the caller's. */
  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: '127.0.0.1', port }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** The replicas to forward to now (HOST:PORT each); one that left is no longer chosen from here on. */
  setReplicas(addresses: readonly string[]): void {
    this.addresses = [...addresses].sort();
    for (const [address, agent] of this.agents) {
      if (!this.addresses.includes(address)) {
        // a replica that left: its idle connections are closed now and as its last requests end, so
        // that it can stop (its server waits for its connections); requests under way finish
        this.agents.delete(address);
        retire(agent);
      }
    }
  }

  private agentOf(address: string): http.Agent {
    let agent = this.agents.get(address);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: SOCKETS_PER_REPLICA });
      this.agents.set(address, agent);
    }
    return agent;
  }

  get replicas(): readonly string[] {
    return this.addresses;
  }

  /** The next replica in turn, skipping the ones that just failed while others are left. */
  private pick(): string | undefined {
    const now = Date.now();
    const live = this.addresses.filter((a) => (this.suspended.get(a) ?? 0) <= now);
    const from = live.length > 0 ? live : this.addresses;
    return from.length > 0 ? from[this.turn++ % from.length] : undefined;
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req).catch(() => undefined);
    if (body === undefined) {
      answer(res, 413, `The request body is over ${MAX_BODY_BYTES} bytes or was cut off.`);
      return;
    }
    const deadline = Date.now() + DEADLINE_MS;
    let lastError = 'no replica is running';
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const address = this.pick();
      if (!address) {
        await sleep(Math.min(100 * (attempt + 1), 500));
        continue;
      }
      const outcome = await this.send(address, req, body, res);
      if (outcome === 'answered') {
        return;
      }
      lastError = `${address}: ${outcome}`;
      this.suspended.set(address, Date.now() + SUSPEND_MS);
      if (attempt >= this.addresses.length) {
        await sleep(Math.min(50 * attempt, 500));
      }
    }
    answer(
      res,
      503,
      `No replica of the service "${this.name}" answered within ${DEADLINE_MS / 1000} s (${lastError}).`,
    );
  }

  /** One try at one replica: 'answered' once its answer started coming back, else why not. */
  private send(address: string, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<string> {
    const colon = address.lastIndexOf(':');
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(k) && v !== undefined) {
        headers[k] = v;
      }
    }
    headers['content-length'] = body.length;
    return new Promise((resolve) => {
      const upstream = http.request(
        {
          host: address.slice(0, colon),
          port: Number(address.slice(colon + 1)),
          method: req.method,
          path: req.url,
          headers,
          // a replica no longer in the set (being stopped) gets a connection of its own, not kept
          agent: this.addresses.includes(address) ? this.agentOf(address) : false,
        },
        (answer) => {
          const out: http.OutgoingHttpHeaders = {};
          for (const [k, v] of Object.entries(answer.headers)) {
            if (!HOP_BY_HOP.has(k) && v !== undefined) {
              out[k] = v;
            }
          }
          res.writeHead(answer.statusCode ?? 502, out);
          answer.pipe(res);
          // cut off after it began: the client sees its connection end, as it would from the replica
          answer.on('error', () => res.destroy());
          resolve('answered');
        },
      );
      upstream.on('error', (e) => resolve(e.message));
      upstream.end(body);
    });
  }

  close(): Promise<void> {
    for (const s of this.sockets) {
      s.destroy();
    }
    for (const agent of this.agents.values()) {
      agent.destroy();
    }
    this.agents.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Closes an agent's idle connections now and whenever one of its busy ones comes back idle. */
function retire(agent: http.Agent): void {
  const closeIdle = () => {
    for (const list of Object.values(agent.freeSockets)) {
      list?.forEach((socket) => socket.destroy());
    }
  };
  closeIdle();
  // a busy connection that comes back idle is closed as soon as the agent has put it aside
  agent.on('free', () => setImmediate(closeIdle));
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.destroy();
        reject(new Error('too large'));
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function answer(res: http.ServerResponse, status: number, message: string): void {
  if (!res.headersSent) {
    res.writeHead(status, { 'content-type': 'application/json' });
  }
  res.end(JSON.stringify({ error: { status, message } }));
}
