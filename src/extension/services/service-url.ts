import type { Service } from '../../protocol/containers';

/**
 * Where the lab's machine reaches a service's first port: the lab's own endpoint for it when it has
 * one (a service on a cluster, whatever replica serves), else the address of a running replica on a
 * target's machine, else the port the container publishes on the lab's machine. An Error says why
 * there is none.
 */
export function serviceUrl(s: Service): string {
  if (s.endpointPort !== undefined) {
    return `http://127.0.0.1:${s.endpointPort}/`;
  }
  if (s.replicaStatus) {
    const address = s.replicaStatus.replicas.find((r) => r.address !== null)?.address;
    if (!address) {
      throw new Error(
        `No replica of the service "${s.name}" answers on a published port yet (${s.replicaStatus.running} of ${s.replicaStatus.desired} running): open it once one runs, or deploy it with a port.`,
      );
    }
    return `http://${address}/`;
  }
  const port = s.ports[0];
  if (!port) {
    throw new Error(`The service "${s.name}" publishes no port: deploy it with one to open it.`);
  }
  const host = port.hostIp === '0.0.0.0' ? '127.0.0.1' : port.hostIp;
  return `http://${host}:${port.hostPort}/`;
}
