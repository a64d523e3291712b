import { execFileSync } from 'child_process';
import * as os from 'os';
import type { RunManifest } from '../../protocol/experiments';

/** Runs a short command; undefined when it is missing, fails or takes longer than `timeout` ms. */
function tryRun(cmd: string, args: string[], cwd: string, timeout = 2000): string | undefined {
  try {
    return execFileSync(cmd, args, {
      cwd,
      encoding: 'utf8',
      timeout,
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 << 20,
    });
  } catch {
    return undefined;
  }
}

export function hostInfo(): RunManifest['host'] {
  const gpus = tryRun('nvidia-smi', ['-L'], process.cwd())
    ?.split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return {
    hostname: os.hostname(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    memoryBytes: os.totalmem(),
    gpus: gpus ?? [],
  };
}

/**
 * The git state of `cwd`: commit, branch, whether it has uncommitted changes, and the diff itself;
 * with a `script`, whether the commit holds it at all (a script that is not tracked, or ignored by
 * .gitignore, is in neither the commit nor the diff).
 */
export function gitState(cwd: string, script?: string): { state: RunManifest['git']; diff: string | undefined } {
  const commit = tryRun('git', ['rev-parse', 'HEAD'], cwd)?.trim();
  if (!commit) {
    return { state: null, diff: undefined };
  }
  const branch = tryRun('git', ['rev-parse', '--abbrev-ref', 'HEAD'], cwd)?.trim() ?? null;
  const diff = tryRun('git', ['diff', 'HEAD'], cwd, 5000) ?? '';
  const dirty = diff.length > 0 || (tryRun('git', ['status', '--porcelain'], cwd)?.trim().length ?? 0) > 0;
  return {
    state: {
      commit,
      branch: branch === 'HEAD' ? null : branch,
      dirty,
      diff: diff.length > 0 ? 'git.diff' : null,
      ...(script ? { script: scriptInGit(cwd, script) } : {}),
    },
    diff: diff.length > 0 ? diff : undefined,
  };
}

/** `tracked`, `ignored` or `untracked`: from `git ls-files --error-unmatch` and `git check-ignore`. */
export function scriptInGit(cwd: string, script: string): 'tracked' | 'untracked' | 'ignored' {
  if (tryRun('git', ['ls-files', '--error-unmatch', '--', script], cwd) !== undefined) {
    return 'tracked';
  }
  return tryRun('git', ['check-ignore', '-q', '--', script], cwd) !== undefined ? 'ignored' : 'untracked';
}
