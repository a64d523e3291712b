import type { JsonSchema } from './schema';

/**
 * One route of the HTTP API as both sides see it: method, path, the JSON schemas the backend
 * validates with, and (as types only) what the query, body and answer hold. The backend registers
 * its handler by the table entry and the Node client derives its call from the same entry, so a
 * path, a field or an answer type cannot differ between them.
 */
export interface Route<Path extends string = string, Query = unknown, Body = unknown, Answer = unknown> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** fastify's pattern: `/api/projects/:id` */
  readonly path: Path;
  /** the status of a success (200, 201 created, 202 accepted, 204 no content) */
  readonly status: number;
  /** only the parts the route takes; a path with `:name` parts has a `params` schema */
  readonly schema: { readonly params?: JsonSchema; readonly querystring?: JsonSchema; readonly body?: JsonSchema };
  /** types only, never set: what the query, body and answer of this route hold */
  readonly types?: { readonly query: Query; readonly body: Body; readonly answer: Answer };
}

/** `/api/jobs/:name/runs/:id` -> `{ name: string; id: string }` */
export type PathParams<Path extends string> = Path extends `${string}:${infer Name}/${infer Rest}`
  ? { [K in Name]: string } & PathParams<`/${Rest}`>
  : Path extends `${string}:${infer Name}`
    ? { [K in Name]: string }
    : Record<never, never>;

declare const streamedBrand: unique symbol;

/**
 * The answer of a route whose reply is not JSON (a log that can be followed, a file): its handler
 * writes the reply itself (or returns its text with its own content type), and the Node client
 * reads it with `stream`, never with `call`.
 */
export interface Streamed {
  readonly [streamedBrand]: true;
}

declare const jsonTextBrand: unique symbol;

/**
 * The answer of a route whose handler returns the JSON text of a `T` it already has (e.g. from a
 * cache), as text or UTF-8 bytes, with its own content type: the client parses it as a `T`.
 */
export interface JsonText<T> {
  readonly [jsonTextBrand]: T;
}

/** What the handler of an answer type returns: a streamed reply is written by the handler itself. */
export type HandlerAnswer<A> = [A] extends [Streamed]
  ? void | string
  : [A] extends [JsonText<unknown>]
    ? string | Uint8Array
    : A;

/** What the client gets of an answer type, once the JSON is parsed. */
export type ParsedAnswer<A> = [A] extends [JsonText<infer T>] ? T : A;

export type QueryOf<R> = R extends Route<string, infer Q, unknown, unknown> ? Q : never;
export type BodyOf<R> = R extends Route<string, unknown, infer B, unknown> ? B : never;
export type AnswerOf<R> = R extends Route<string, unknown, unknown, infer A> ? A : never;
export type ParamsOf<R> = R extends Route<infer P, unknown, unknown, unknown> ? PathParams<P> : never;

/** What a call of the route sends: the path parts, the query and the body, each only when the route has it. */
export type RouteInput<R extends Route> = (keyof ParamsOf<R> extends never ? unknown : { params: ParamsOf<R> }) &
  (undefined extends QueryOf<R>
    ? { query?: QueryOf<R> }
    : Record<never, never> extends QueryOf<R>
      ? { query?: QueryOf<R> }
      : { query: QueryOf<R> }) &
  (undefined extends BodyOf<R> ? { body?: BodyOf<R> } : { body: BodyOf<R> });

/** A query of the routes that take none */
export type NoQuery = undefined;
/** A body of the routes that take none */
export type NoBody = undefined;

interface RouteDefinition<Path extends string> {
  readonly method: Route['method'];
  readonly path: Path;
  readonly status?: number;
  readonly params?: JsonSchema;
  readonly query?: JsonSchema;
  readonly body?: JsonSchema;
}

/**
 * A table entry: `route<Answer, Body, Query>()({ method, path, ...schemas })` (two calls, so that the
 * types are named while the path's literal type is inferred).
 */
export function route<Answer, Body = NoBody, Query = NoQuery>() {
  return <Path extends string>(definition: RouteDefinition<Path>): Route<Path, Query, Body, Answer> => ({
    method: definition.method,
    path: definition.path,
    status: definition.status ?? 200,
    schema: {
      ...(definition.params ? { params: definition.params } : {}),
      ...(definition.query ? { querystring: definition.query } : {}),
      ...(definition.body ? { body: definition.body } : {}),
    },
  });
}

/**
 * The URL of a call: each `:name` part percent-encoded, then `?a=1&b=2` of the query's defined
 * values (none: no `?`).
 */
export function urlOf(path: string, params: Readonly<Record<string, string>> = {}, query?: object): string {
  const url = path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name]));
  const parts = Object.entries(query ?? {}).filter(([, v]) => v !== undefined);
  return parts.length === 0
    ? url
    : `${url}?${parts.map(([k, v]) => `${k}=${encodeURIComponent(String(v as string | number))}`).join('&')}`;
}
