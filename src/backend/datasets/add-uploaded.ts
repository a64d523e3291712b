import * as fs from 'fs';
import { listZip } from '../../common/zip/safe-unzip';
import type { DatasetVersion } from '../../protocol/datasets';
import type { AddUploadedDatasetRequest } from '../../protocol/routes/datasets';
import { checkName } from '../../protocol/names';
import { ApiError } from '../errors';
import type { BlobStore } from '../files/blob-store';
import type { Logger } from '../log';
import { mediaTypeOf } from './media-types';
import type { DatasetRepository } from './repository';

/**
 * Records a blob the lab holds (sent over the network) as the next version of a dataset. The size
 * must be the stored one; for a package the lab reads the zip's directory itself (a blob that is
 * no zip is refused), so its file count and unpacked size are the lab's, not the sender's word.
 */
export async function addUploadedDataset(
  deps: { blobs: BlobStore; datasets: DatasetRepository; log: Logger },
  projectId: string,
  request: AddUploadedDatasetRequest,
  operator: string,
  /** whether the sender may learn that the lab holds the content (else it is answered as not held) */
  mayKnow = true,
): Promise<DatasetVersion> {
  const problem = checkName('dataset', request.name);
  if (problem) {
    throw new ApiError(400, 'invalid_name', problem);
  }
  if (/[\\/\0]/.test(request.fileName) || request.fileName === '.' || request.fileName === '..') {
    throw new ApiError(
      400,
      'invalid_file_name',
      `"${request.fileName}" is not a file name: send the name without a folder.`,
    );
  }
  const file = deps.blobs.pathOf(request.sha256);
  const stored = mayKnow ? fs.statSync(file, { throwIfNoEntry: false }) : undefined;
  if (!stored) {
    throw new ApiError(
      409,
      'not_stored',
      `The lab does not hold content with sha256 ${request.sha256}: send it first with PUT /api/blobs/${request.sha256}.`,
    );
  }
  if (stored.size !== request.size) {
    throw new ApiError(
      400,
      'size_mismatch',
      `The content with sha256 ${request.sha256.slice(0, 12)} has ${stored.size} bytes, not ${request.size}: check the size sent.`,
    );
  }
  let fileCount: number | null = null;
  let unpackedSize: number | null = null;
  if (request.kind === 'package') {
    try {
      const entries = (await listZip(file)).filter((e) => !e.isDirectory);
      fileCount = entries.length;
      unpackedSize = entries.reduce((sum, e) => sum + e.size, 0);
    } catch (e) {
      throw new ApiError(
        400,
        'not_a_package',
        `The content sent as a package is not a readable zip (${(e as Error).message.slice(0, 200)}): package the folder with "mllab dataset add".`,
      );
    }
  }
  const added = await deps.datasets.addVersion(projectId, request.name, {
    sha256: request.sha256,
    size: stored.size,
    mediaType: request.kind === 'package' ? 'application/zip' : mediaTypeOf(request.fileName),
    kind: request.kind,
    fileCount,
    unpackedSize,
    fileName: request.fileName,
    sourcePath: request.sourcePath ?? '',
    operator: request.operator ?? operator,
    description: request.description ?? '',
    tags: request.tags ?? [],
  });
  deps.log.info(
    `datasets: added ${added.name}:v${added.version} from an upload (${added.size} bytes, sha256 ${added.sha256.slice(0, 12)})`,
  );
  return added;
}
