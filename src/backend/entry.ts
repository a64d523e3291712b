// dist/backend.js: the backend process, forked by the extension or the CLI.
import { parseArgs } from 'util';
import { VERSION } from '../common/version';
import { resolveHome } from '../common/home';
import { notifyParent, serve, usePrivateUmask } from './main';

async function main(): Promise<void> {
  // first of all: nothing this process creates may be readable by others
  usePrivateUmask();
  const { values } = parseArgs({
    options: {
      home: { type: 'string' },
      port: { type: 'string' },
      'idle-exit': { type: 'string' },
    },
  });
  const result = await serve({
    home: resolveHome(values.home),
    version: VERSION,
    port: values.port ? Number(values.port) : 0,
    idleExitMs: values['idle-exit'] ? Number(values['idle-exit']) * 1000 : 0,
    // a person in a terminal sees the log; a background process started by a client only writes the file
    echoLog: !process.send && process.stderr.isTTY === true,
  });
  if (result.kind === 'serving') {
    const backend = result.backend;
    process.on('SIGTERM', () => void backend.stop('signal SIGTERM'));
    process.on('SIGINT', () => void backend.stop('signal SIGINT'));
    void backend.stopped.then(() => process.exit(0));
    notifyParent({ type: 'ready', port: backend.port, attached: false });
  } else if (result.kind === 'attached') {
    notifyParent({ type: 'ready', port: result.registration.port, attached: true });
    process.exitCode = 0;
  } else {
    const r = result.registration;
    const message = `process ${r.pid} owns this lab home but does not answer on port ${r.port}: stop it, or remove run/backend.json in the lab home if it is not ML Lab`;
    notifyParent({ type: 'failed', message });
    if (!process.send) {
      process.stderr.write(`ML Lab backend: ${message}\n`);
    }
    process.exitCode = 3;
  }
  if (process.send && result.kind !== 'serving') {
    process.disconnect();
  }
}

main().catch((e: Error) => {
  notifyParent({ type: 'failed', message: e.message });
  process.stderr.write(`ML Lab backend: ${e.message}\n`);
  process.exitCode = 2;
  if (process.send) {
    process.disconnect();
  }
});
