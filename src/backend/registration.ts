import { randomBytes } from 'crypto';
import * as fs from 'fs';
import { homePaths, isProcessAlive, readRegistration } from '../common/home';
import { API_VERSION, Registration } from '../protocol/api';
import type { Logger } from './log';
import { writeFileAtomic } from '../common/fsync';

export type Claim =
  | { readonly kind: 'owner'; readonly token: string; publish(port: number): void; release(): void }
  | { readonly kind: 'taken'; readonly registration: Registration };

/**
 * Makes this process the one backend of `home`, or reports the live process that already is.
 * The registration file is created with O_EXCL, so of two processes starting at once exactly one
 * wins; the file of a dead process is detected by its pid and taken over.
 */
export function claimHome(home: string, version: string, log: Logger): Claim {
  const paths = homePaths(home);
  fs.mkdirSync(paths.run, { recursive: true, mode: 0o700 });
  fs.chmodSync(paths.run, 0o700);
  for (let attempt = 0; attempt < 5; attempt++) {
    const token = randomBytes(32).toString('hex');
    const registration = (port: number): Registration => ({
      pid: process.pid,
      port,
      token,
      version,
      apiVersion: API_VERSION,
      startedAt: new Date().toISOString(),
    });
    try {
      const fd = fs.openSync(paths.registration, 'wx', 0o600);
      fs.writeSync(fd, JSON.stringify(registration(0)));
      fs.closeSync(fd);
      return {
        kind: 'owner',
        token,
        publish: (port) => writeFileAtomic(paths.registration, JSON.stringify(registration(port))),
        release: () => {
          if (readRegistration(home)?.pid === process.pid) {
            fs.rmSync(paths.registration, { force: true });
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw e;
      }
    }
    const existing = readRegistration(home);
    if (existing && existing.pid !== process.pid && isProcessAlive(existing.pid)) {
      return { kind: 'taken', registration: existing };
    }
    if (!existing) {
      // unreadable: either being written this instant by a starting owner, or left torn by a crash
      const age = Date.now() - statMtime(paths.registration);
      if (age < 2000) {
        sleepSync(100);
        continue;
      }
    }
    log.warn(
      `registration: ${paths.registration} belonged to process ${existing?.pid ?? '(unreadable)'} which is no longer running; taking over`,
    );
    fs.rmSync(paths.registration, { force: true });
  }
  throw new Error(`could not claim ${paths.registration}: another process keeps recreating it`);
}

function statMtime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
