import * as fs from 'fs';
import * as path from 'path';

/** Polls `probe` every 50 ms until it returns a truthy value, which is returned. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) {
      return value;
    }
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Asks the harness for a screenshot of the workbench (test-artifacts/) and waits until it is saved. */
export async function screenshot(name: string): Promise<void> {
  const signals = process.env.MLLAB_IT_SIGNAL_DIR;
  if (!signals) {
    return; // run by another harness: no screenshots
  }
  console.log(`MLLAB_SCREENSHOT ${name}`);
  await waitFor(`screenshot ${name}`, () => fs.existsSync(path.join(signals, `screenshot-${name}`)));
}
