/**
 * The building blocks of every route's JSON schema, shared by the route tables (and so by the
 * backend, which validates with them, and the clients): every string has a maxLength and refuses
 * NUL, every array a maxItems, every number a range.
 */

/** A JSON schema as fastify takes it (plain data, so tests can walk it). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/**
 * A string without NUL: no path, name, command argument or environment variable can hold one (the
 * operating system cuts C strings there), so it is refused at the door instead of failing inside.
 */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';

/** A string of at most `maxLength` characters (code points) without NUL. */
export function text(maxLength: number, minLength = 0) {
  return { type: 'string', minLength, maxLength, pattern: NO_NUL_PATTERN } as const;
}

/** An absolute or relative file path on the backend's machine (PATH_MAX on Linux is 4096 bytes). */
export const pathText = text(4096, 1);

/** A project, job, service, model or dataset name, or an id: looked up, never used as a path. */
export const lookupText = text(200, 1);

/** `?project=ID|NAME` (default: the active project) */
export const projectQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { project: lookupText },
} as const;

/** `/:name` of a named record (a job, a service, a model...) */
export const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: lookupText },
} as const;

/** a yes/no query parameter (`?follow=true`, `?force=true`) */
export const trueFalse = { type: 'string', enum: ['true', 'false'] } as const;

/** the query of `projectQuery`: a project id or name, or the active project when absent */
export interface InProject {
  readonly project?: string;
}
