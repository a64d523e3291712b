import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { RUN_FILE_MODE } from '../../../common/run-directory/files';
import { ApiError } from '../../errors';
import { STATUSES } from '../run-state';
import { syncFile } from './body';

function invalid(message: string): never {
  throw new ApiError(400, 'invalid_manifest', message);
}

/** The manifest sent for run `id`, checked as the ingest will read it: an object of that run with a known status. */
export function checkManifest(id: string, text: Buffer): void {
  let m: unknown;
  try {
    m = JSON.parse(text.toString('utf8'));
  } catch (e) {
    invalid(`run.json is not valid JSON (${(e as Error).message}): send the file the client wrote.`);
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) {
    invalid('run.json is not a JSON object: send the run manifest the client wrote.');
  }
  const manifest = m as Record<string, unknown>;
  if (manifest.id !== id) {
    invalid(`run.json is the manifest of run ${JSON.stringify(manifest.id)}, not of ${id}: send it to its own run.`);
  }
  if (typeof manifest.status !== 'string' || !STATUSES.has(manifest.status)) {
    invalid(`run.json has no known "status" (one of ${[...STATUSES].join(', ')}): send a complete run manifest.`);
  }
}

/**
 * Writes run.json as the client wrote it: a fresh private temp file beside it (created exclusively,
 * never through a link), synced, renamed over run.json. Returns the sha256 of the bytes stored. The
 * syncs wait off the event loop (callers serialize the writes of a run).
 */
export async function writeManifest(runDir: string, text: Buffer): Promise<string> {
  const file = path.join(runDir, 'run.json');
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  let renamed = false;
  try {
    const handle = await fs.promises.open(tmp, 'wx', RUN_FILE_MODE);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    fs.renameSync(tmp, file);
    renamed = true;
  } finally {
    if (!renamed) {
      fs.rmSync(tmp, { force: true });
    }
  }
  await syncFile(runDir);
  return createHash('sha256').update(text).digest('hex');
}
