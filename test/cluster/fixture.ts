import { execFileSync } from 'child_process';
import Docker from 'dockerode';
import * as net from 'net';
import * as path from 'path';
import { REPO } from '../unit/helpers';

/**
 * Where the test cluster of scripts/run-cluster-tests.sh answers: the manager's Engine API and the
 * image registry, both on 127.0.0.1 (the cluster's own addresses are never used from here).
 */

/** dockerode options for the manager's Engine API */
export function swarmApi(): { host: string; port: number; protocol: 'http' } {
  const url = new URL(required('MLLAB_SWARM_API').replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port), protocol: 'http' };
}

/** the DOCKER_HOST form of the manager's Engine API (tcp://127.0.0.1:PORT) */
export function swarmDockerHost(): string {
  return required('MLLAB_SWARM_API');
}

/** "127.0.0.1:5000": push here, and name images the same way in services */
export function swarmRegistry(): string {
  return required('MLLAB_SWARM_REGISTRY');
}

/** the loopback port forwarded to port 8080 of node `i` (1-3; services publish there in host mode) */
export function swarmWebPort(node = 1): number {
  return Number(required('MLLAB_SWARM_WEB_PORT')) + node - 1;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run the cluster tests with scripts/run-cluster-tests.sh (npm run test:cluster)`,
    );
  }
  return value;
}

/**
 * Where the nodes reach the lab: each node forwards its own 127.0.0.1:PORT to this machine's
 * address on the cluster's network (the gateway), where a test listens and forwards to the lab on
 * 127.0.0.1. A job on host networking therefore reaches the lab as https://127.0.0.1:PORT.
 */
export function swarmLabForward(): { gateway: string; port: number } {
  return { gateway: required('MLLAB_SWARM_GATEWAY'), port: Number(required('MLLAB_SWARM_LAB_PORT')) };
}

/**
 * Forwards what arrives at `gateway:port` (the cluster network's address of this machine, where the
 * machines of the test cluster send their loopback lab port) to the lab on 127.0.0.1:`labPort`: its
 * port now, asked at each connection (a lab restarted by a test listens on another port).
 */
export async function forwardToLab(gateway: string, port: number, labPort: () => number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    const upstream = net.connect(labPort(), '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, gateway, resolve);
  });
  return server;
}

/** A port of 127.0.0.1 nobody listens on now. */
export async function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One more machine with a Docker Engine of its own (not in the swarm), as a test starts it. */
export interface NestedEngine {
  /** the container's name */
  readonly name: string;
  /** tcp://127.0.0.1:PORT: its Engine API, published on this machine's loopback */
  readonly dockerHost: string;
  readonly apiPort: number;
  /** the loopback port of this machine that leads to the engine's port 8080 (its label dev.mllab.reach.8080 says so) */
  readonly webPort: number;
  /** where this machine must listen (the gateway) for the engine's 127.0.0.1:LAB_PORT (swarmLabForward().port) */
  readonly labForwardPort: number;
  stop(): void;
  start(): Promise<void>;
  remove(): void;
}

/**
 * Starts one more Docker-in-Docker machine from the test cluster's node image, on the cluster's
 * network but not in the swarm: its Engine API (plain TCP) and port 8080 published on 127.0.0.1,
 * its loopback lab port forwarded to `gateway:labForwardPort` and its loopback :5000 to the registry
 * (as the nodes'). Answers once the engine answers.
 */
export async function startNestedEngine(name: string): Promise<NestedEngine> {
  const { gateway, port: labPort } = swarmLabForward();
  const [apiPort, webPort, labForwardPort] = [
    await freeLoopbackPort(),
    await freeLoopbackPort(),
    await freeLoopbackPort(gateway),
  ];
  const registryPort = swarmRegistry().split(':')[1];
  execFileSync('docker', ['rm', '-f', '-v', name], { stdio: 'ignore' });
  execFileSync('docker', [
    'run',
    '-d',
    '--name',
    name,
    '--hostname',
    name,
    '--network',
    SWARM_NETWORK,
    '-v',
    '/var/lib/docker',
    '--label',
    'dev.mllab.test=remote-engine',
    ...['--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE', '--security-opt', 'seccomp=unconfined'],
    ...['--security-opt', 'systempaths=unconfined', '--device-cgroup-rule', 'a *:* rwm'],
    ...['-p', `127.0.0.1:${apiPort}:2375`, '-p', `127.0.0.1:${webPort}:8080`],
    ...['-e', `REGISTRY_UPSTREAM=${gateway}:${registryPort}`, '-e', `LAB_UPSTREAM=${gateway}:${labForwardPort}`],
    ...['-e', `LAB_PORT=${labPort}`, '-v', `${path.join(REPO, 'scripts', 'lib', 'swarm-node-entry.sh')}:/entry:ro`],
    ...['--entrypoint', '/entry', NODE_IMAGE],
    ...['-H', 'unix:///var/run/docker.sock', '-H', 'tcp://0.0.0.0:2375', '--tls=false', '--storage-driver', 'overlay2'],
    ...['--label', `dev.mllab.reach.8080=127.0.0.1:${webPort}`],
  ]);
  const answers = async () => {
    const end = Date.now() + 90_000;
    for (;;) {
      try {
        await new Docker({ host: '127.0.0.1', port: apiPort, protocol: 'http' }).ping();
        return;
      } catch (e) {
        if (Date.now() > end) {
          throw new Error(`the nested engine ${name} did not answer within 90 s: ${(e as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  };
  await answers();
  return {
    name,
    dockerHost: `tcp://127.0.0.1:${apiPort}`,
    apiPort,
    webPort,
    labForwardPort,
    stop: () => execFileSync('docker', ['stop', '-t', '2', name], { stdio: 'ignore' }),
    start: async () => {
      execFileSync('docker', ['start', name], { stdio: 'ignore' });
      await answers();
    },
    remove: () => execFileSync('docker', ['rm', '-f', '-v', name], { stdio: 'ignore' }),
  };
}

/** the test cluster's network and node image (scripts/test-cluster.sh) */
const SWARM_NETWORK = 'mllab-swarm-net';
const NODE_IMAGE = 'mllab-test/swarm-node:1';
