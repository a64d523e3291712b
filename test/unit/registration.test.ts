import * as assert from 'assert';
import { fork } from 'child_process';
import * as path from 'path';
import { readRegistration } from '../../src/common/home';
import type { BackendReadyMessage } from '../../src/protocol/api';
import { ApiClient } from '../../src/client/api-client';
import { DIST, tempHome } from './helpers';
import { waitForExit } from './process-helpers';

describe('one backend per lab home', function () {
  this.timeout(60000);

  it('of several backends started at the same instant, exactly one serves and the others attach to it', async () => {
    const { home, cleanup } = tempHome();
    const children = Array.from({ length: 4 }, () =>
      fork(path.join(DIST, 'backend.js'), ['--home', home], { stdio: 'ignore' }),
    );
    const messages = await Promise.all(
      children.map((c) => new Promise<BackendReadyMessage>((resolve) => c.once('message', resolve))),
    );
    const serving = messages.filter((m) => m.type === 'ready' && !m.attached);
    const attached = messages.filter((m) => m.type === 'ready' && m.attached);
    assert.strictEqual(serving.length, 1, JSON.stringify(messages));
    assert.strictEqual(attached.length, 3, JSON.stringify(messages));
    const registration = readRegistration(home)!;
    for (const m of attached) {
      assert.ok(m.type === 'ready' && m.port === registration.port);
    }
    const client = new ApiClient(registration.port, registration.token);
    await client.shutdown();
    client.dispose();
    await Promise.all(children.map(waitForExit));
    cleanup();
  });
});
