import Docker from 'dockerode';

/** The test cluster's manager (scripts/test-cluster.sh), as the cluster benches reach it. */
export const SWARM_API = process.env.MLLAB_SWARM_API ?? 'tcp://127.0.0.1:23750';

/** A client of the manager's Engine API, or undefined (with a line saying so) when none answers. */
export async function swarmManager(bench: string): Promise<Docker | undefined> {
  const url = new URL(SWARM_API.replace(/^tcp:/, 'http:'));
  const docker = new Docker({ host: url.hostname, port: Number(url.port), protocol: 'http' });
  const answers = await docker.ping().then(
    () => true,
    () => false,
  );
  if (!answers) {
    process.stdout.write(
      `${bench}: skipped, no Swarm manager answers at ${SWARM_API} (bash scripts/test-cluster.sh up)\n`,
    );
    return undefined;
  }
  return docker;
}
