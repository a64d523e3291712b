import type { AddDatasetRequest, Dataset, DatasetVersion } from '../datasets';
import { NAME_MAX_LENGTH } from '../names';
import { route } from './route';
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
