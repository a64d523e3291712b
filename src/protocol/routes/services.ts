import { MAX_REPLICAS, type DeployServiceRequest, type ScaleServiceRequest, type Service } from '../containers';
import { NAME_MAX_LENGTH } from '../names';
import { route, type Streamed } from './route';
import { nameParams, NO_NUL_PATTERN, pathText, projectQuery, text, trueFalse, type InProject } from './schema';

const strings = { type: 'array', maxItems: 1000, items: text(10000) } as const;
const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const portObject = {
  type: 'object',
  required: ['hostPort', 'containerPort'],
  additionalProperties: false,
  properties: { hostIp: text(100), hostPort: port, containerPort: port },
} as const;
const volumeObject = {
  type: 'object',
  required: ['hostPath', 'containerPath'],
  additionalProperties: false,
  properties: { hostPath: pathText, containerPath: pathText, readOnly: { type: 'boolean' } },
} as const;

/** The body of POST /api/services: the same bounds as a job's definition where the fields are alike. */
const deploySchema = {
  type: 'object',
  required: ['name', 'image'],
  additionalProperties: false,
  properties: {
    name: text(NAME_MAX_LENGTH),
    image: text(255, 1),
    command: strings,
    env: {
      anyOf: [
        strings,
        { type: 'object', maxProperties: 1000, propertyNames: { maxLength: 256 }, additionalProperties: text(10000) },
      ],
    },
    ports: { type: 'array', maxItems: 100, items: { anyOf: [text(100, 1), portObject] } },
    volumes: { type: 'array', maxItems: 100, items: { anyOf: [text(9000, 1), volumeObject] } },
    restart: { type: 'string', enum: ['no', 'on-failure', 'always', 'unless-stopped'] },
    healthPath: { type: ['string', 'null'], maxLength: 2000, pattern: NO_NUL_PATTERN },
    target: text(NAME_MAX_LENGTH, 1),
    replicas: { type: 'integer', minimum: 1, maximum: MAX_REPLICAS },
    publishMode: { type: 'string', enum: ['host', 'ingress'] },
    endpointPort: port,
  },
} as const;

const scaleSchema = {
  type: 'object',
  required: ['replicas'],
  additionalProperties: false,
  properties: { replicas: { type: 'integer', minimum: 0, maximum: MAX_REPLICAS } },
} as const;

const named = { params: nameParams, query: projectQuery } as const;

/** Long-running containers of a project (`:name` is the service), their actions and their output. */
export const serviceRoutes = {
  list: route<Service[], undefined, InProject>()({ method: 'GET', path: '/api/services', query: projectQuery }),
  deploy: route<Service, DeployServiceRequest, InProject>()({
    method: 'POST',
    path: '/api/services',
    status: 201,
    query: projectQuery,
    body: deploySchema,
  }),
  get: route<Service, undefined, InProject>()({ method: 'GET', path: '/api/services/:name', ...named }),
  stop: route<Service, undefined, InProject>()({ method: 'POST', path: '/api/services/:name/stop', ...named }),
  start: route<Service, undefined, InProject>()({ method: 'POST', path: '/api/services/:name/start', ...named }),
  restart: route<Service, undefined, InProject>()({ method: 'POST', path: '/api/services/:name/restart', ...named }),
  /** replicas of a service on a Swarm target (0 keeps it, with nothing running) */
  scale: route<Service, ScaleServiceRequest, InProject>()({
    method: 'POST',
    path: '/api/services/:name/scale',
    ...named,
    body: scaleSchema,
  }),
  delete: route<void, undefined, InProject>()({ method: 'DELETE', path: '/api/services/:name', status: 204, ...named }),
  /** the container's output as text; with `follow` it goes on until the request is closed */
  logs: route<Streamed, undefined, InProject & { readonly follow?: 'true' | 'false' }>()({
    method: 'GET',
    path: '/api/services/:name/logs',
    params: nameParams,
    query: {
      type: 'object',
      additionalProperties: false,
      properties: { ...projectQuery.properties, follow: trueFalse },
    },
  }),
} as const;
