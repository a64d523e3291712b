import * as assert from 'assert';
import Docker from 'dockerode';
import { swarmApi, swarmRegistry } from './fixture';

/** The test set-up itself: the cluster the other cluster tests run on (scripts/test-cluster.sh). */
describe('the test cluster', () => {
  it('is a swarm of three ready nodes, one manager, with a registry answering on loopback', async () => {
    const docker = new Docker(swarmApi());
    const nodes = await docker.listNodes();
    assert.strictEqual(nodes.length, 3);
    assert.deepStrictEqual(
      nodes.map((n) => n.Status?.State),
      ['ready', 'ready', 'ready'],
    );
    assert.strictEqual(nodes.filter((n) => n.Spec?.Role === 'manager').length, 1);
    const res = await fetch(`http://${swarmRegistry()}/v2/`);
    assert.strictEqual(res.status, 200);
  });
});
