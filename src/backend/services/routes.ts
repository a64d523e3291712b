import type { FastifyInstance } from 'fastify';
import type { DeployServiceRequest, Service } from '../../protocol/containers';
import type { EventBus } from '../events';
import { sendTextStream } from '../runtime/stream-reply';
import type { ProjectRepository } from '../projects/repository';
import type { ServiceManager } from './manager';
import type { ServiceRepository } from './repository';
import { projectQuery, nameParams } from '../http/schemas';

export interface ServiceRouteDeps {
  readonly projects: ProjectRepository;
  readonly services: ServiceRepository;
  readonly manager: ServiceManager;
  readonly events: EventBus;
}

const strings = { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 10000 } } as const;
const portObject = {
  type: 'object',
  required: ['hostPort', 'containerPort'],
  additionalProperties: false,
  properties: {
    hostIp: { type: 'string', maxLength: 100 },
    hostPort: { type: 'integer' },
    containerPort: { type: 'integer' },
  },
} as const;
const volumeObject = {
  type: 'object',
  required: ['hostPath', 'containerPath'],
  additionalProperties: false,
  properties: {
    hostPath: { type: 'string', maxLength: 4096 },
    containerPath: { type: 'string', maxLength: 4096 },
    readOnly: { type: 'boolean' },
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
      schema: {
        querystring: projectQuery,
        body: {
          type: 'object',
          required: ['name', 'image'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 1000 },
            image: { type: 'string', minLength: 1, maxLength: 1000 },
            command: strings,
            env: {
              anyOf: [strings, { type: 'object', additionalProperties: { type: 'string', maxLength: 10000 } }],
            },
            ports: { type: 'array', maxItems: 100, items: { anyOf: [{ type: 'string', maxLength: 100 }, portObject] } },
            volumes: {
              type: 'array',
              maxItems: 100,
              items: { anyOf: [{ type: 'string', maxLength: 9000 }, volumeObject] },
            },
            restart: { type: 'string', enum: ['no', 'on-failure', 'always', 'unless-stopped'] },
            healthPath: { type: ['string', 'null'], maxLength: 2000 },
          },
        },
      },
    },
    async (request, reply): Promise<Service> => {
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
          properties: { ...projectQuery.properties, follow: { type: 'string', enum: ['true', 'false'] } },
        },
      },
    },
    async (request, reply): Promise<void> => {
      sendTextStream(reply, await manager.logs(find(request), request.query.follow === 'true'));
    },
  );
}
