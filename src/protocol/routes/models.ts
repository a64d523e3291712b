import { MAX_REPLICAS, type Service } from '../containers';
import type {
  DeployModelRequest,
  Model,
  ModelVersion,
  ModelVersionDetails,
  RegisterModelRequest,
  SetAliasRequest,
  UpdateModelRequest,
} from '../models';
import { NAME_MAX_LENGTH } from '../names';
import { route } from './route';
import { lookupText, nameParams, pathText, projectQuery, text, trueFalse, type InProject } from './schema';

const versionParams = {
  type: 'object',
  required: ['name', 'version'],
  properties: { name: nameParams.properties.name, version: text(100, 1) },
} as const;
const aliasParams = {
  type: 'object',
  required: ['name', 'alias'],
  properties: { name: nameParams.properties.name, alias: text(100, 1) },
} as const;
const tags = { type: 'array', maxItems: 100, items: text(100, 1) } as const;
const entryPoint = text(300);
const versionNumber = { type: 'integer', minimum: 1, maximum: 999_999_999 } as const;

/**
 * Registered models of a project (`:name` is the model) and their versions (`:version`: a number,
 * v3, an alias or `latest`), aliases and deployments.
 */
export const modelRoutes = {
  list: route<Model[], undefined, InProject>()({ method: 'GET', path: '/api/models', query: projectQuery }),
  /** registers a file as a new version (the project: the body's, the experiment's, or the active one) */
  register: route<ModelVersion, RegisterModelRequest>()({
    method: 'POST',
    path: '/api/models',
    status: 201,
    body: {
      type: 'object',
      required: ['name', 'path'],
      additionalProperties: false,
      properties: {
        name: text(NAME_MAX_LENGTH),
        path: pathText,
        experimentId: lookupText,
        entryPoint,
        description: text(10000),
        tags,
        project: lookupText,
        operator: text(200, 1),
      },
    },
  }),
  get: route<Model, undefined, InProject>()({
    method: 'GET',
    path: '/api/models/:name',
    params: nameParams,
    query: projectQuery,
  }),
  update: route<Model, UpdateModelRequest, InProject>()({
    method: 'PATCH',
    path: '/api/models/:name',
    params: nameParams,
    query: projectQuery,
    body: { type: 'object', additionalProperties: false, properties: { description: text(10000), tags } },
  }),
  getVersion: route<ModelVersionDetails, undefined, InProject>()({
    method: 'GET',
    path: '/api/models/:name/versions/:version',
    params: versionParams,
    query: projectQuery,
  }),
  /** a version number only (`3` or `v3`); refused while a running service serves it, unless forced */
  deleteVersion: route<void, undefined, InProject & { readonly force?: 'true' | 'false' }>()({
    method: 'DELETE',
    path: '/api/models/:name/versions/:version',
    status: 204,
    params: {
      ...versionParams,
      properties: {
        ...versionParams.properties,
        version: { type: 'string', maxLength: 10, pattern: '^v?[1-9][0-9]{0,8}$' },
      },
    },
    query: {
      type: 'object',
      additionalProperties: false,
      properties: { project: lookupText, force: trueFalse },
    },
  }),
  setAlias: route<Model, SetAliasRequest, InProject>()({
    method: 'PUT',
    path: '/api/models/:name/aliases/:alias',
    params: aliasParams,
    query: projectQuery,
    body: {
      type: 'object',
      required: ['version'],
      additionalProperties: false,
      properties: { version: versionNumber },
    },
  }),
  removeAlias: route<Model, undefined, InProject>()({
    method: 'DELETE',
    path: '/api/models/:name/aliases/:alias',
    params: aliasParams,
    query: projectQuery,
  }),
  /** builds a model server image for a version and runs it as a service */
  deploy: route<Service, DeployModelRequest, InProject>()({
    method: 'POST',
    path: '/api/models/:name/deploy',
    status: 201,
    params: nameParams,
    query: projectQuery,
    body: {
      type: 'object',
      required: ['baseImage'],
      additionalProperties: false,
      properties: {
        version: { anyOf: [versionNumber, text(100, 1)] },
        baseImage: text(255, 1),
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        serviceName: text(NAME_MAX_LENGTH, 1),
        entryPoint,
        target: text(NAME_MAX_LENGTH, 1),
        replicas: { type: 'integer', minimum: 1, maximum: MAX_REPLICAS },
        nodePort: { type: 'integer', minimum: 1, maximum: 65535 },
      },
    },
  }),
} as const;
