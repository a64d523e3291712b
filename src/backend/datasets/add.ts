import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { AddDatasetRequest, DatasetVersion, OperationProgress } from '../../protocol/datasets';
import { checkName } from '../../protocol/names';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { BlobStore } from '../files/blob-store';
import { copyHashed } from '../files/copy';
import { packFolder, PackagingRefusal } from '../../common/zip/pack';
import type { Logger } from '../log';
import { mediaTypeOf } from './media-types';
import type { DatasetRepository, NewVersion } from './repository';
import { defaultDatasetName } from '../../common/dataset-name';

const PROGRESS_INTERVAL_MS = 100;

function describeFsError(e: NodeJS.ErrnoException, source: string): ApiError | undefined {
  switch (e.code) {
    case 'ENOENT':
      return new ApiError(400, 'not_found', `"${source}" does not exist: check the path.`);
    case 'EACCES':
    case 'EPERM':
      return new ApiError(400, 'unreadable', `"${e.path ?? source}" cannot be read: check its permissions.`);
    case 'ENOSPC':
      return new ApiError(
        507,
        'disk_full',
        `The disk of the lab home is full: free some space and add the dataset again (nothing was stored).`,
      );
    default:
      return undefined;
  }
}

/** A running add: its id names its `operationProgress` events; aborting its signal cancels it. */
export interface AddOperation {
  readonly id: string;
  readonly signal: AbortSignal;
}

/**
 * Adds a file, or a folder packaged into one zip, as the next version of a dataset. Content goes to
 * tmp/ first and is moved into the blob store only when complete and synced; the version is recorded
 * after that. A failure or cancellation at any point leaves nothing behind. Progress is published
 * as `operationProgress` events, at most ten a second.
 */
export async function addDataset(
  deps: { blobs: BlobStore; datasets: DatasetRepository; events: EventBus; log: Logger },
  projectId: string,
  request: AddDatasetRequest,
  operation: AddOperation,
): Promise<DatasetVersion> {
  const signal = operation.signal;
  const source = request.path;
  if (!path.isAbsolute(source)) {
    throw new ApiError(
      400,
      'relative_path',
      `"${source}" is not an absolute path: send the full path of the file or folder.`,
    );
  }
  const name = request.name ?? defaultDatasetName(source);
  const problem = checkName('dataset', name);
  if (problem) {
    throw new ApiError(400, 'invalid_name', problem);
  }
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch (e) {
    throw describeFsError(e as NodeJS.ErrnoException, source) ?? e;
  }
  if (!stat.isFile() && !stat.isDirectory()) {
    throw new ApiError(400, 'not_a_file', `"${source}" is neither a file nor a folder.`);
  }
  const temp = deps.blobs.tempPath();
  let last = 0;
  const throttled = (p: Omit<OperationProgress, 'operationId'>, force = false) => {
    const now = Date.now();
    if (force || now - last >= PROGRESS_INTERVAL_MS) {
      last = now;
      deps.events.publish({ type: 'operationProgress', progress: { operationId: operation.id, ...p } });
    }
  };
  try {
    let version: Omit<NewVersion, 'operator' | 'description' | 'tags'>;
    if (stat.isFile()) {
      const sha256 = await copyHashed(source, temp, signal, (bytes) =>
        throttled({ phase: 'copying', files: 0, totalFiles: 1, bytes, totalBytes: stat.size }),
      );
      throttled({ phase: 'copying', files: 1, totalFiles: 1, bytes: stat.size, totalBytes: stat.size }, true);
      version = {
        sha256,
        size: fs.statSync(temp).size,
        mediaType: mediaTypeOf(source),
        kind: 'file',
        fileCount: null,
        unpackedSize: null,
        fileName: path.basename(source),
        sourcePath: source,
      };
    } else {
      const result = await packFolder(source, temp, {
        signal,
        onProgress: (p) => throttled({ phase: 'packaging', ...p }, p.files === p.totalFiles),
      });
      version = {
        sha256: result.sha256,
        size: result.bytesOut,
        mediaType: 'application/zip',
        kind: 'package',
        fileCount: result.files,
        unpackedSize: result.bytesIn,
        fileName: `${path.basename(source)}.zip`,
        sourcePath: source,
      };
    }
    signal.throwIfAborted();
    const { deduplicated } = deps.blobs.commit(temp, version.sha256);
    const added = await deps.datasets.addVersion(projectId, name, {
      ...version,
      operator: request.operator ?? os.userInfo().username,
      description: request.description ?? '',
      tags: request.tags ?? [],
    });
    deps.log.info(
      `datasets: added ${name}:v${added.version} from ${source} (${added.size} bytes, sha256 ${added.sha256.slice(0, 12)}${deduplicated ? ', content already stored' : ''})`,
    );
    return added;
  } catch (e) {
    fs.rmSync(temp, { force: true });
    if (signal.aborted) {
      deps.log.info(`datasets: adding ${source} was cancelled; nothing was stored`);
      throw new ApiError(499, 'cancelled', 'The add was cancelled; nothing was stored.');
    }
    const err = e as NodeJS.ErrnoException;
    if (e instanceof PackagingRefusal) {
      // what the folder holds (a name, a dangling link...): its message names the file, where a
      // file-system code of its own would be read as being about the folder itself
      throw new ApiError(400, e.reason, e.message);
    }
    throw describeFsError(err, source) ?? (e instanceof ApiError ? e : new ApiError(400, 'add_failed', err.message));
  }
}
