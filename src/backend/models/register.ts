import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ModelVersion } from '../../protocol/models';
import { checkName } from '../../protocol/names';
import { ApiError } from '../errors';
import type { BlobStore } from '../files/blob-store';
import { copyHashed, openInside, UnsafePathError } from '../files/copy';
import type { Logger } from '../log';
import type { ModelRepository } from './repository';

export interface RegisterDeps {
  readonly blobs: BlobStore;
  readonly models: ModelRepository;
  readonly log: Logger;
}

export interface Registration {
  readonly name: string;
  /** absolute; or, with `runDir`, relative to the run directory (an artifact) */
  readonly path: string;
  /** the experiment's run directory when registering from an experiment */
  readonly runDir?: string;
  readonly experimentId?: string | null;
  readonly entryPoint?: string | null;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly operator?: string;
  readonly sourceKey?: string;
  /** the path must name a file inside `runDir` (a run's own `model` event): never an absolute path */
  readonly insideRunOnly?: boolean;
}

/** `module:function` of a Python `predict(inputs)` entry point. */
const ENTRY_POINT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$/;

export function checkEntryPoint(entryPoint: string | null | undefined): string | null {
  if (entryPoint === undefined || entryPoint === null || entryPoint === '') {
    return null;
  }
  if (!ENTRY_POINT.test(entryPoint)) {
    throw new ApiError(
      400,
      'invalid_entry_point',
      `The entry point "${entryPoint}" is not module:function: write it like "predictor:predict" (a function predict(inputs) in predictor.py).`,
    );
  }
  return entryPoint;
}

/**
 * The file to register: a path inside the run directory (an artifact), opened without following
 * any symbolic link below it (a job writes its run directory); else an absolute path a person gave.
 */
function sourceOf(r: Registration): { path: string; fd?: number } {
  if (r.runDir && !path.isAbsolute(r.path)) {
    const resolved = path.resolve(r.runDir, r.path);
    const relative = path.relative(r.runDir, resolved);
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new ApiError(
        400,
        'outside_run',
        `"${r.path}" is outside the experiment's run directory: name one of its artifacts, e.g. "artifacts/model.pkl".`,
      );
    }
    try {
      return { path: resolved, fd: openInside(r.runDir, relative).fd };
    } catch (e) {
      if (!(e instanceof UnsafePathError)) {
        throw e;
      }
      if (e.reason === 'missing') {
        throw new ApiError(400, 'not_found', `There is no model file at "${resolved}": check the path.`);
      }
      throw new ApiError(
        400,
        e.reason === 'not_a_file' ? 'not_a_file' : 'unsafe_path',
        `The model file ${e.message}: register a regular file of the run directory (a model version is one file).`,
      );
    }
  }
  if (r.insideRunOnly) {
    throw new ApiError(
      400,
      'outside_run',
      `"${r.path}" is not a path inside the run directory: a run registers only its own files, e.g. "artifacts/model.pkl".`,
    );
  }
  if (!path.isAbsolute(r.path)) {
    throw new ApiError(
      400,
      'relative_path',
      `"${r.path}" is not an absolute path: send the full path of the model file (or an artifact path together with its experiment).`,
    );
  }
  return { path: r.path };
}

/**
 * Registers a file as the next version of a model: copied into tmp/ while hashed, moved into the
 * blob store once complete and synced, and only then recorded (as dataset versions are). A failure
 * leaves nothing behind.
 */
export async function registerModel(
  deps: RegisterDeps,
  projectId: string,
  r: Registration,
): Promise<{ version: ModelVersion; added: boolean }> {
  const problem = checkName('model', r.name);
  if (problem) {
    throw new ApiError(400, 'invalid_name', problem);
  }
  const entryPoint = checkEntryPoint(r.entryPoint);
  if (r.sourceKey) {
    const existing = deps.models.bySourceKey(r.sourceKey);
    if (existing) {
      return { version: existing, added: false };
    }
  }
  const opened = sourceOf(r);
  const source = opened.path;
  if (opened.fd === undefined) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(source);
    } catch {
      throw new ApiError(400, 'not_found', `There is no model file at "${source}": check the path.`);
    }
    if (!stat.isFile()) {
      throw new ApiError(
        400,
        'not_a_file',
        `"${source}" is not a file: a model version is one file (save the model to a single file, e.g. with joblib.dump).`,
      );
    }
  }
  let temp: string;
  try {
    temp = deps.blobs.tempPath();
  } catch (e) {
    if (opened.fd !== undefined) {
      fs.closeSync(opened.fd);
    }
    throw e;
  }
  try {
    const sha256 = await copyHashed(opened.fd === undefined ? source : { fd: opened.fd }, temp);
    const size = fs.statSync(temp).size;
    deps.blobs.commit(temp, sha256);
    const result = await deps.models.addVersion(projectId, r.name, {
      sha256,
      size,
      fileName: path.basename(source),
      sourcePath: source,
      entryPoint,
      experimentId: r.experimentId ?? null,
      operator: r.operator ?? os.userInfo().username,
      description: r.description ?? '',
      tags: r.tags ?? [],
      sourceKey: r.sourceKey,
    });
    if (result.added) {
      const v = result.version;
      deps.log.info(
        `models: registered ${v.name}:v${v.version} from ${source} (${size} bytes, sha256 ${sha256.slice(0, 12)}${v.experimentId ? `, experiment ${v.experimentId}` : ''})`,
      );
    } else {
      deps.models.collect([sha256]);
    }
    return result;
  } catch (e) {
    fs.rmSync(temp, { force: true });
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EACCES' || err.code === 'EPERM') {
      throw new ApiError(400, 'unreadable', `"${source}" cannot be read: check its permissions.`);
    }
    if (err.code === 'ENOSPC') {
      throw new ApiError(507, 'disk_full', 'The disk of the lab home is full: free some space and register again.');
    }
    throw e;
  }
}
