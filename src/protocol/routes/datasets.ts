import type { AddDatasetRequest, Dataset, DatasetVersion } from '../datasets';
import { NAME_MAX_LENGTH } from '../names';
import { SHA256_PATTERN } from './blobs';
import { route, type Streamed } from './route';
import { lookupText, pathText, projectQuery, text, trueFalse, type InProject } from './schema';

const versionParams = {
  type: 'object',
  required: ['name', 'version'],
  properties: {
    name: lookupText,
    version: { type: 'string', pattern: '^([1-9][0-9]{0,8}|latest)$' },
  },
} as const;

const deleteQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { project: projectQuery.properties.project, force: trueFalse },
} as const;

/**
 * A dataset version made of a blob the lab holds (sent with the blob routes, `./blobs.ts`): how a
 * client of a lab over the network adds a file, or a folder it packaged into a zip.
 */
export interface AddUploadedDatasetRequest {
  readonly name: string;
  readonly sha256: string;
  /** the blob's size, checked against the stored one */
  readonly size: number;
  /** the original file name, or `<folder>.zip` for a package */
  readonly fileName: string;
  readonly kind: 'file' | 'package';
  /** where it was added from, on the sender's machine (shown, never read by the lab) */
  readonly sourcePath?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly project?: string;
  readonly operator?: string;
}

/** Dataset versions (`:version` is a number or `latest`) and the cancelling of a long add. */
export const datasetRoutes = {
  list: route<Dataset[], undefined, InProject>()({ method: 'GET', path: '/api/datasets', query: projectQuery }),
  add: route<DatasetVersion, AddDatasetRequest>()({
    method: 'POST',
    path: '/api/datasets',
    status: 201,
    body: {
      type: 'object',
      required: ['path'],
      additionalProperties: false,
      properties: {
        path: pathText,
        name: text(NAME_MAX_LENGTH),
        description: text(10000),
        tags: { type: 'array', maxItems: 100, items: text(100, 1) },
        project: lookupText,
        operationId: { type: 'string', maxLength: 100, pattern: '^[A-Za-z0-9_-]{1,100}$' },
        operator: text(200, 1),
      },
    },
  }),
  addUploaded: route<DatasetVersion, AddUploadedDatasetRequest>()({
    method: 'POST',
    path: '/api/datasets/uploaded',
    status: 201,
    body: {
      type: 'object',
      required: ['name', 'sha256', 'size', 'fileName', 'kind'],
      additionalProperties: false,
      properties: {
        name: text(NAME_MAX_LENGTH, 1),
        sha256: { type: 'string', maxLength: 64, pattern: SHA256_PATTERN },
        size: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        fileName: text(255, 1),
        kind: { type: 'string', enum: ['file', 'package'] },
        sourcePath: pathText,
        description: text(10000),
        tags: { type: 'array', maxItems: 100, items: text(100, 1) },
        project: lookupText,
        operator: text(200, 1),
      },
    },
  }),
  /** the stored file (a package: its zip); Range and If-Range answered per RFC 9110, ETag = "<sha256>" */
  content: route<Streamed, undefined, InProject>()({
    method: 'GET',
    path: '/api/datasets/:name/versions/:version/content',
    params: versionParams,
    query: projectQuery,
  }),
  getVersion: route<DatasetVersion, undefined, InProject>()({
    method: 'GET',
    path: '/api/datasets/:name/versions/:version',
    params: versionParams,
    query: projectQuery,
  }),
  deleteVersion: route<void, undefined, InProject & { readonly force?: 'true' | 'false' }>()({
    method: 'DELETE',
    path: '/api/datasets/:name/versions/:version',
    status: 204,
    params: versionParams,
    query: deleteQuery,
  }),
  cancelOperation: route<{ cancelled: boolean }>()({
    method: 'POST',
    path: '/api/operations/:id/cancel',
    status: 202,
    params: { type: 'object', required: ['id'], properties: { id: text(100, 1) } },
  }),
} as const;
