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

/** the loopback port forwarded to port 8080 of node 1 (services publish there in host mode) */
export function swarmWebPort(): number {
  return Number(required('MLLAB_SWARM_WEB_PORT'));
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
