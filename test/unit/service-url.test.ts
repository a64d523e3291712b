import * as assert from 'assert';
import type { Service, ServiceReplica } from '../../src/protocol/containers';
import { serviceUrl } from '../../src/extension/services/service-url';

/** What "Open in Browser" opens for a service: the lab's endpoint, a replica's address, or the local port. */
describe('the address a service is opened at', () => {
  const service = (over: Partial<Service>): Service =>
    ({
      name: 'web',
      ports: [],
      ...over,
    }) as Service;
  const replica = (address: string | null): ServiceReplica => ({
    node: 'node1',
    state: address ? 'running' : 'pending',
    image: 'i',
    address,
    message: '',
  });

  it("opens a cluster service at the lab's own endpoint for it, not a port of the lab's machine", () => {
    const s = service({
      endpointPort: 18400,
      ports: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 8080 }],
      replicaStatus: { desired: 2, running: 2, replicas: [replica('10.0.0.2:8080')], update: null },
    } as Partial<Service>);
    assert.strictEqual(serviceUrl(s), 'http://127.0.0.1:18400/');
  });

  it('opens a service on a target without an endpoint at the address of a running replica, and says when none runs', () => {
    const up = service({
      replicaStatus: { desired: 2, running: 1, replicas: [replica(null), replica('127.0.0.1:18081')], update: null },
    });
    assert.strictEqual(serviceUrl(up), 'http://127.0.0.1:18081/');
    const down = service({ replicaStatus: { desired: 1, running: 0, replicas: [replica(null)], update: null } });
    assert.throws(
      () => serviceUrl(down),
      /No replica of the service "web" answers on a published port yet \(0 of 1 running\)/,
    );
  });

  it('opens a local service at the port it publishes (all interfaces: loopback)', () => {
    const s = service({ ports: [{ hostIp: '0.0.0.0', hostPort: 9000, containerPort: 80 }] } as Partial<Service>);
    assert.strictEqual(serviceUrl(s), 'http://127.0.0.1:9000/');
    assert.throws(() => serviceUrl(service({})), /publishes no port: deploy it with one/);
  });
});
