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
