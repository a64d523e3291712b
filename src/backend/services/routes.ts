import type { FastifyInstance } from 'fastify';
import type { DeployServiceRequest, Service } from '../../protocol/containers';
import type { EventBus } from '../events';
import { sendTextStream } from '../runtime/stream-reply';
import type { ProjectRepository } from '../projects/repository';
import type { ServiceManager } from './manager';
import type { ServiceRepository } from './repository';
import { trueFalse, nameParams, NO_NUL_PATTERN, pathText, projectQuery, text } from '../http/schemas';
import { checkName, NAME_MAX_LENGTH } from '../../protocol/names';
import { ApiError } from '../errors';
import { requestClosedSignal } from '../runtime/request-signal';

export interface ServiceRouteDeps {
  readonly projects: ProjectRepository;
  readonly services: ServiceRepository;
  readonly manager: ServiceManager;
  readonly events: EventBus;
}

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
  },
} as const;

type NameRequest = { Params: { name: string }; Querystring: { project?: string } };

export function registerServiceRoutes(app: FastifyInstance, deps: ServiceRouteDeps): void {
  const { projects, services, manager, events } = deps;
  const projectOf = (q: { project?: string }) => projects.resolveOrActive(q.project).id;
  const find = (r: { params: { name: string }; query: { project?: string } }) =>
    services.get(projectOf(r.query), r.params.name);
  const route = { schema: { params: nameParams, querystring: projectQuery } };

  app.get<{ Querystring: { project?: string } }>(
    '/api/services',
    { schema: { querystring: projectQuery } },
    async (request): Promise<Service[]> => services.list(projectOf(request.query)),
  );

  app.post<{ Body: DeployServiceRequest; Querystring: { project?: string } }>(
    '/api/services',
    {
      schema: { querystring: projectQuery, body: deploySchema },
    },
    async (request, reply): Promise<Service> => {
      // checked before Docker is asked: a wrong name is the same mistake with or without Docker
      const problem = checkName('service', request.body.name);
      if (problem) {
        throw new ApiError(400, 'invalid_name', problem);
      }
      const service = await manager.deploy(projectOf(request.query), request.body);
      events.publish({ type: 'serviceUpdated', service });
      void reply.code(201);
      return service;
    },
  );

  app.get<NameRequest>('/api/services/:name', route, async (request): Promise<Service> => find(request));
  app.post<NameRequest>('/api/services/:name/stop', route, async (request) => manager.stop(find(request)));
  app.post<NameRequest>('/api/services/:name/start', route, async (request) => manager.start(find(request)));
  app.post<NameRequest>('/api/services/:name/restart', route, async (request) => manager.restart(find(request)));

  app.delete<NameRequest>('/api/services/:name', route, async (request, reply): Promise<void> => {
    const service = find(request);
    await manager.remove(service);
    events.publish({ type: 'serviceDeleted', projectId: service.projectId, serviceId: service.id });
    void reply.code(204);
  });

  app.get<{ Params: { name: string }; Querystring: { project?: string; follow?: string } }>(
    '/api/services/:name/logs',
    {
      schema: {
        params: nameParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...projectQuery.properties, follow: trueFalse },
        },
      },
    },
    async (request, reply): Promise<void> => {
      sendTextStream(
        reply,
        await manager.logs(find(request), request.query.follow === 'true', requestClosedSignal(reply)),
      );
    },
  );
}
