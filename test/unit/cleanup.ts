import * as fs from 'fs';

/**
 * Test trees (lab homes, zip folders with tens of thousands of files) are removed in the background,
 * outside any timed hook: how long a machine takes to delete them must never fail a test. The root
 * hook in root-hooks.ts waits for the removals at the end of the run, with no time limit.
 */
const pending = new Set<Promise<void>>();

export function removeInBackground(dir: string): void {
  const removal = fs.promises
    .rm(dir, { recursive: true, force: true, maxRetries: 5 })
    .catch((e: Error) => process.stderr.write(`could not remove ${dir}: ${e.message}\n`))
    .then(() => void pending.delete(removal));
  pending.add(removal);
}

export async function removalsDone(): Promise<void> {
  while (pending.size > 0) {
    await Promise.all([...pending]);
  }
}
