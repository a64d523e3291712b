import ignore from '@balena/dockerignore';
import * as fs from 'fs';
import * as path from 'path';
import { RuntimeError } from '../../runtime/errors';

/** a workspace copied into a job's image: larger ones belong in a dataset (mllab.dataset()) */
export const MAX_WORKSPACE_BYTES = 1024 ** 3;

/**
 * The paths of a workspace that its `.dockerignore` leaves out, as `docker build` reads the file
 * (Docker's own rules, from @balena/dockerignore, a port of Docker's Go code: `*` within one
 * folder, `**` across folders, `!` exceptions that may re-add a file under an excluded folder,
 * patterns anchored at the workspace's root, case-sensitive as on Linux). Paths are relative with
 * "/" separators. Undefined when the workspace has no `.dockerignore`.
 */
export function dockerIgnoreOf(workspace: string): { ignores(rel: string): boolean; exceptions: boolean } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(workspace, '.dockerignore'), 'utf8');
  } catch {
    return undefined;
  }
  const patterns = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const matcher = ignore({ ignorecase: false }).add(patterns);
  return { ignores: (rel) => matcher.ignores(rel), exceptions: patterns.some((p) => p.startsWith('!')) };
}

/**
 * Copies a job's workspace into the folder an image layer is built from, without what its
 * `.dockerignore` excludes (as `docker build` would leave it out of the context). Symbolic links are
 * copied as links. Throws `workspace_too_large` past `maxBytes`, saying what to do; the caller
 * removes the half-made copy.
 */
export function copyWorkspace(workspace: string, dest: string, maxBytes = MAX_WORKSPACE_BYTES): void {
  const ignored = dockerIgnoreOf(workspace);
  let bytes = 0;
  const walk = (rel: string): void => {
    const from = path.join(workspace, rel);
    const to = path.join(dest, rel);
    const stat = fs.lstatSync(from);
    const skipped = rel !== '' && ignored?.ignores(rel.split(path.sep).join('/'));
    if (stat.isDirectory()) {
      // an excluded folder is walked only when an exception may re-add something inside it
      if (skipped && !ignored?.exceptions) {
        return;
      }
      if (!skipped) {
        fs.mkdirSync(to, { recursive: true, mode: stat.mode & 0o7777 });
      }
      for (const name of fs.readdirSync(from)) {
        walk(rel === '' ? name : path.join(rel, name));
      }
      return;
    }
    if (skipped) {
      return;
    }
    bytes += stat.size;
    if (bytes > maxBytes) {
      throw new RuntimeError(
        400,
        'workspace_too_large',
        `The workspace ${workspace} holds more than ${formatBytes(maxBytes)}: a job on another machine gets a copy of it in its image. Keep the data in a dataset (read with mllab.dataset()), leave it out with a .dockerignore, or create the job from its code's folder.`,
      );
    }
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (stat.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(from), to);
    } else if (stat.isFile()) {
      fs.copyFileSync(from, to);
      fs.chmodSync(to, stat.mode & 0o7777);
    }
    // sockets, pipes and devices have no place in an image
  };
  walk('');
}

const formatBytes = (n: number) => (n >= 1024 ** 3 ? `${n / 1024 ** 3} GiB` : `${Math.round(n / 1024)} KiB`);
