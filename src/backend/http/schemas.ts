/** JSON schemas that several route files share. */

/** `?project=ID|NAME` (default: the active project) */
export const projectQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { project: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

/** `/:name` of a named record (a job, a service, a model...) */
export const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;
