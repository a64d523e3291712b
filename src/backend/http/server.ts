import { timingSafeEqual } from 'crypto';
import Fastify, {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  FastifyServerFactory,
} from 'fastify';
import type { ApiErrorBody, BackendEvent } from '../../protocol/api';
import { ApiError } from '../errors';
import type { Logger } from '../log';
import type { TokenCheck } from '../users/repository';
import {
  allows,
  type AnswerRule,
  type AuditLog,
  type Identity,
  neededRole,
  OWNER_IDENTITY,
  type ProjectGate,
  type ProjectRule,
} from './access';
import type { ProjectNeed } from './project-scopes';
import { describeValidation, type SchemaError } from './validation';

export const BODY_LIMIT_BYTES = 64 * 1024;

function body(code: string, message: string): ApiErrorBody {
  return { error: { code, message } };
}

/** Node's own errors for an argument it refuses: an input that reached a Node API unchecked. */
const ARGUMENT_ERRORS = new Set(['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE']);

/** Turns fastify's own errors (validation, parsing, limits) into messages a person can act on. */
function describe(error: FastifyError, request: FastifyRequest): { status: number; body: ApiErrorBody } {
  if (error instanceof ApiError) {
    return { status: error.statusCode, body: body(error.code, error.message) };
  }
  if (error.validation) {
    const where = error.validationContext ?? 'request';
    const data = (request as unknown as Record<string, unknown>)[where === 'querystring' ? 'query' : where];
    const detail = describeValidation(error.validation as SchemaError[], where, data);
    return { status: 400, body: body('invalid_request', `Invalid request: ${detail}.`) };
  }
  if (ARGUMENT_ERRORS.has(error.code)) {
    const nul = /null bytes/.test(error.message);
    return {
      status: 400,
      body: body(
        'invalid_request',
        nul
          ? 'Invalid request: a name or path contains a NUL character (\\0), which none can hold: remove it.'
          : `Invalid request: ${error.message}.`,
      ),
    };
  }
  switch (error.code) {
    case 'ENOSPC':
      return {
        status: 507,
        body: body(
          'disk_full',
          'The disk of the lab home is full: free some space and try again (nothing was changed).',
        ),
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: body('body_too_large', `The request body is larger than ${BODY_LIMIT_BYTES / 1024} KiB: send less data.`),
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: body('invalid_json', `The request body is not valid JSON: ${error.message}.`) };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: body('unsupported_media_type', 'Send the request body as JSON with "Content-Type: application/json".'),
      };
  }
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  return {
    status,
    body: body(
      status >= 500 ? 'internal' : 'bad_request',
      status >= 500 ? `Internal error: ${error.message}. See the backend log.` : error.message,
    ),
  };
}

function bearer(header: string | undefined): string {
  return header?.startsWith('Bearer ') ? header.slice(7) : '';
}

function tokenMatches(presented: string, token: string): boolean {
  const given = Buffer.from(presented);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Who may use the lab besides its owner, and where changes are recorded (a lab served to a team). */
export interface HttpAccess {
  /** checks a user's token (`mllab_...`), from memory */
  checkToken(presented: string): TokenCheck;
  /** records each request that is not a read */
  readonly audit?: AuditLog;
  /** the server(s) to answer on (plain HTTP on 127.0.0.1 when absent) */
  readonly serverFactory?: FastifyServerFactory;
  /** per-project roles (absent: every project is open to every role, as in a server without users) */
  readonly projects?: ProjectGate;
  /** the reverse proxies whose X-Forwarded-* headers are believed (absent: none, `request.ip` is the peer's) */
  readonly trustProxy?: readonly string[];
}

const IDENTITIES = new WeakMap<FastifyRequest, Identity>();
const GATES = new WeakMap<FastifyRequest, ProjectGate>();
/** a user's request: who its token speaks for now (a role changed, a token revoked since it came) */
const RECHECKS = new WeakMap<FastifyRequest, () => Identity | undefined>();

/** Who sent a request that passed authentication. */
export function identityOf(request: FastifyRequest): Identity | undefined {
  return IDENTITIES.get(request);
}

/** Checks the role a request needs in its project (the rule of its route): throws a 403 or 404 ApiError. */
export function checkProjectRule(request: FastifyRequest, rule: ProjectRule): void {
  const identity = IDENTITIES.get(request);
  const gate = GATES.get(request);
  if (identity && gate) {
    gate.check(identity, rule, request);
  }
}

/** Checks a project a handler found inside its body (a run's manifest); null: the active project. */
export function checkNamedProject(request: FastifyRequest, idOrName: string | null, need: ProjectNeed): void {
  const identity = IDENTITIES.get(request);
  const gate = GATES.get(request);
  if (identity && gate) {
    gate.checkNamed(identity, idOrName, need);
  }
}

/** The answer of a route about projects in general, as the user of the request may see it. */
export async function projectAnswer(request: FastifyRequest, rule: AnswerRule, answer: unknown): Promise<unknown> {
  const identity = IDENTITIES.get(request);
  const gate = GATES.get(request);
  return identity && gate ? gate.answer(identity, rule, answer) : answer;
}

/**
 * Which events the event stream of a request carries (undefined: all, the owner's). A user's stream
 * asks at each event who its token speaks for now (from memory): a user made a member or a viewer, or
 * whose token was revoked or who was removed, gets no more than that from then on, without reconnecting.
 */
export function eventFilterOf(request: FastifyRequest): ((event: BackendEvent) => boolean) | undefined {
  const identity = IDENTITIES.get(request);
  const gate = GATES.get(request);
  const recheck = RECHECKS.get(request);
  if (!identity || !gate || !recheck) {
    return undefined;
  }
  return (event) => {
    const now = recheck();
    return now !== undefined && (now.role === 'admin' || gate.sees(now, event));
  };
}

/**
 * Whether the token a request came with still lets it in (not revoked, not expired, its user not
 * removed): what a long-lived answer (the event stream) asks as it goes. Always true for the lab's own
 * token.
 */
export function stillAuthorized(request: FastifyRequest): () => boolean {
  const recheck = RECHECKS.get(request);
  return recheck ? () => recheck() !== undefined : () => true;
}

/** A route as registered: its method, URL pattern and JSON schemas (for tests that cover every route). */
export interface RouteInfo {
  readonly method: string;
  readonly url: string;
  readonly schema: FastifySchema | undefined;
}

const ROUTES = new WeakMap<FastifyInstance, RouteInfo[]>();

/** Every route registered on a server made by `createHttpServer`, in the order of registration. */
export function registeredRoutes(app: FastifyInstance): readonly RouteInfo[] {
  return ROUTES.get(app) ?? [];
}

/** The fastify instance with authentication and error mapping; routes are added by the features. */
export function createHttpServer(token: string, log: Logger, access?: HttpAccess): FastifyInstance {
  const app = Fastify({
    ...(access?.serverFactory ? { serverFactory: access.serverFactory } : {}),
    ...(access?.trustProxy ? { trustProxy: [...access.trustProxy] } : {}),
    bodyLimit: BODY_LIMIT_BYTES,
    logger: false,
    // event streams never go idle: close them on shutdown instead of waiting forever
    forceCloseConnections: true,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // a URL that cannot be decoded ("%zz", a lone "%") never reaches a route: answered in our format
    frameworkErrors: (error, _request, reply) => {
      const message =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? 'A part of the URL path is longer than 100 characters: names have at most 64, ids fewer.'
          : `The URL is not valid (${error.code}): percent-encode each part of the path and query, e.g. with encodeURIComponent.`;
      void (reply as FastifyReply).code(400).send(body('invalid_url', message));
    },
  });
  const routes: RouteInfo[] = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routes.push({ method, url: route.url, schema: route.schema });
    }
  });
  // the API speaks JSON only: anything else is refused with 415 and a hint
  app.removeContentTypeParser('text/plain');
  const gate = access?.projects;
  app.addHook('onRequest', async (request, reply) => {
    if (gate) {
      GATES.set(request, gate);
    }
    const presented = bearer(request.headers.authorization);
    if (tokenMatches(presented, token)) {
      IDENTITIES.set(request, OWNER_IDENTITY);
      return;
    }
    const check = access && presented.startsWith('mllab_') ? access.checkToken(presented) : undefined;
    if (check?.kind === 'refused') {
      await reply.code(401).send(body('unauthorized', check.message));
      return;
    }
    if (!check) {
      const message = request.headers.authorization
        ? 'The bearer token is wrong: read it again from the registration file; the backend may have restarted.'
        : 'Missing "Authorization: Bearer <token>" header: the token is in run/backend.json in the lab home.';
      await reply.code(401).send(body('unauthorized', message));
      return;
    }
    const identity: Identity = { name: check.user, role: check.role };
    IDENTITIES.set(request, identity);
    RECHECKS.set(request, () => {
      const again = access!.checkToken(presented);
      return again.kind === 'user' ? { name: again.user, role: again.role } : undefined;
    });
    const needed = neededRole(request.method, request.routeOptions.url ?? request.url.split('?')[0]);
    if (!allows(identity.role, needed)) {
      await reply
        .code(403)
        .send(
          body(
            'forbidden',
            `${request.method} ${request.url.split('?')[0].slice(0, 200)} needs the ${needed} role; you are a ${identity.role} ("${identity.name}"): ask an admin of the lab.`,
          ),
        );
    }
  });
  const audit = access?.audit;
  if (audit) {
    app.addHook('onResponse', async (request, reply) => {
      if (request.method === 'GET' || request.method === 'HEAD') {
        return;
      }
      try {
        audit.append({
          time: new Date().toISOString(),
          who: IDENTITIES.get(request)?.name ?? null,
          from: request.ip,
          method: request.method,
          path: request.url.split('?')[0].slice(0, 1000),
          status: reply.statusCode,
        });
      } catch (e) {
        log.warn(`audit: could not append to ${audit.file}: ${(e as Error).message}`);
      }
    });
  }
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body: payload } = describe(error, request);
    // the route pattern says which handler failed; the URL (cut) says with what
    const where = `${request.method} ${request.routeOptions.url ?? '(no route)'} (${request.url.slice(0, 300)})`;
    if (status >= 500 && error instanceof ApiError) {
      // a known condition (Docker not running, a full disk) already said to the client in words
      log.warn(`${where}: ${error.message}`);
    } else if (status >= 500) {
      log.error(`${where}: ${error.stack ?? error.message}`);
    } else if (ARGUMENT_ERRORS.has(error.code)) {
      // answered 400, but a check is missing before this Node call: worth a line to fix it
      log.warn(`${where}: input reached a Node API unchecked: ${error.stack ?? error.message}`);
    }
    void reply.code(status).send(payload);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(
        body(
          'no_route',
          `No route ${request.method} ${request.url.split('?')[0]}: check the ML Lab version of this client.`,
        ),
      );
  });
  return app;
}
