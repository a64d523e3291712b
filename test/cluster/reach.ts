import type Docker from 'dockerode';
import { REACH_LABEL } from '../../src/backend/services/engines/swarm';

/** The nodes' hostnames, 1 to 3, as scripts/test-cluster.sh names them. */
export const NODES = [1, 2, 3].map((i) => `mllab-swarm-node${i}`);

interface NodeView {
  ID: string;
  Version: { Index: number };
  Spec: { Labels?: Record<string, string> } & Record<string, unknown>;
  Description: { Hostname: string };
}

/**
 * Tells the lab where it reaches `port` of each test node: at the loopback port of this machine
 * forwarded to it (`webPort(i)`), since the nodes' own addresses are not used from here. Only that
 * label is set; the nodes' other labels are kept.
 */
export async function labelReach(docker: Docker, port: number, webPort: (node: number) => number): Promise<void> {
  const key = `${REACH_LABEL}${port}`;
  for (const node of (await docker.listNodes()) as NodeView[]) {
    const i = NODES.indexOf(node.Description.Hostname);
    const value = `127.0.0.1:${webPort(i + 1)}`;
    if (i >= 0 && node.Spec.Labels?.[key] !== value) {
      await docker
        .getNode(node.ID)
        .update({ ...node.Spec, Labels: { ...node.Spec.Labels, [key]: value }, version: node.Version.Index });
    }
  }
}
