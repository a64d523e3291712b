import type { AddTargetRequest, ProjectTarget, TargetStatus } from '../targets';
import { route, type NoBody, type NoQuery } from './route';
import { lookupText, pathText, text } from './schema';

const targetParams = {
  type: 'object',
  required: ['name'],
  properties: { name: text(64, 1) },
} as const;

const addSchema = {
  type: 'object',
  required: ['name', 'dockerHost'],
  additionalProperties: false,
  properties: {
    name: text(64, 1),
    dockerHost: text(2000, 1),
    tls: {
      type: 'object',
      additionalProperties: false,
      properties: { caFile: pathText, certFile: pathText, keyFile: pathText },
    },
    registry: { type: ['string', 'null'], maxLength: 500, pattern: '^[^\\u0000\\s]*$' },
  },
} as const;

/**
 * The engines a lab runs containers on (`local`, remote Docker Engines, Swarm managers), each with
 * its state and nodes; adding and removing one is for the lab's admins. A project's default target
 * is read and set on the project.
 */
export const targetRoutes = {
  list: route<TargetStatus[], NoBody, NoQuery>()({ method: 'GET', path: '/api/targets' }),
  add: route<TargetStatus, AddTargetRequest, NoQuery>()({
    method: 'POST',
    path: '/api/targets',
    status: 201,
    body: addSchema,
  }),
  get: route<TargetStatus, NoBody, NoQuery>()({ method: 'GET', path: '/api/targets/:name', params: targetParams }),
  remove: route<void, NoBody, NoQuery>()({
    method: 'DELETE',
    path: '/api/targets/:name',
    status: 204,
    params: targetParams,
  }),
  projectTarget: route<ProjectTarget, NoBody, NoQuery>()({
    method: 'GET',
    path: '/api/projects/:id/target',
    params: { type: 'object', required: ['id'], properties: { id: lookupText } },
  }),
  setProjectTarget: route<ProjectTarget, { readonly target: string }, NoQuery>()({
    method: 'PUT',
    path: '/api/projects/:id/target',
    params: { type: 'object', required: ['id'], properties: { id: lookupText } },
    body: { type: 'object', required: ['target'], additionalProperties: false, properties: { target: text(64, 1) } },
  }),
} as const;
