import * as assert from 'assert';
import Docker from 'dockerode';
import * as net from 'net';
import { pushToRegistry } from '../../src/backend/runtime/registry-push';
import type { PullProgress } from '../../src/backend/runtime/runtime';
import { BUSYBOX } from '../unit/docker-helpers';
import { swarmRegistry } from './fixture';

/** A port on 127.0.0.1 that nothing listens on (a registry that is not there). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('cluster: images pushed to the target registry', () => {
  const local = new Docker();

  it('tags and pushes a local image, with progress, and answers its digest as the registry knows it', async () => {
    const progress: PullProgress[] = [];
    const tag = `s14-${Date.now()}`;
    const pushed = await pushToRegistry(local, BUSYBOX, swarmRegistry(), (p) => progress.push(p), undefined, {
      name: 's14/busybox',
      tag,
    });
    assert.match(pushed.digest, /^sha256:[a-f0-9]{64}$/);
    assert.strictEqual(pushed.reference, `${swarmRegistry()}/s14/busybox@${pushed.digest}`);
    assert.strictEqual(pushed.tagged, `${swarmRegistry()}/s14/busybox:${tag}`);
    assert.ok(progress.length > 0, 'no progress was reported');
    // the registry serves that very manifest under the digest
    const res = await fetch(`http://${swarmRegistry()}/v2/s14/busybox/manifests/${pushed.digest}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.strictEqual(res.status, 200);
    assert.strictEqual(res.headers.get('docker-content-digest'), pushed.digest);
  });

  it('says which registry refused the push and what to check when nothing answers there', async () => {
    const port = await closedPort();
    await assert.rejects(
      pushToRegistry(local, BUSYBOX, `127.0.0.1:${port}`, undefined, undefined, { name: 's14/refused' }),
      (e: Error & { code?: string }) => {
        assert.strictEqual(e.code, 'registry_refused');
        assert.match(e.message, new RegExp(`registry 127\\.0\\.0\\.1:${port} refused the push of ${BUSYBOX}`));
        assert.match(e.message, /Check that the registry runs/);
        return true;
      },
    );
  });

  it('refuses a registry address with a scheme before anything is pushed', async () => {
    await assert.rejects(pushToRegistry(local, BUSYBOX, 'http://127.0.0.1:5000'), /not a registry address/);
  });
});
