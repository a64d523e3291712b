import type { FastifyError } from 'fastify';
import { MLFLOW_ERROR_STATUS, type MlflowErrorBody, type MlflowErrorCode } from '../../protocol/mlflow';
import { ApiError } from '../errors';

/** An answer MLflow's clients understand: one of its error codes, with its HTTP status. */
export class MlflowError extends Error {
  constructor(
    readonly code: MlflowErrorCode,
    message: string,
  ) {
    super(message);
  }

  get statusCode(): number {
    return MLFLOW_ERROR_STATUS[this.code];
  }
}

export const invalid = (message: string) => new MlflowError('INVALID_PARAMETER_VALUE', message);
export const missing = (name: string) =>
  invalid(
    `Missing value for required parameter '${name}'. See the API docs for more information about request parameters.`,
  );

export function mlflowBody(code: MlflowErrorCode, message: string): MlflowErrorBody {
  return { error_code: code, message, error: { code, message } };
}

/** The lab's own errors (a project check, a full disk, a bad path) in MLflow's terms. */
function codeOfStatus(status: number): MlflowErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'RESOURCE_DOES_NOT_EXIST';
    case 409:
      return 'INVALID_STATE';
    default:
      return status >= 500 ? 'INTERNAL_ERROR' : 'INVALID_PARAMETER_VALUE';
  }
}

/** Status and body of an error thrown while answering an MLflow request. */
export function describeMlflowError(error: FastifyError | Error): { status: number; body: MlflowErrorBody } {
  if (error instanceof MlflowError) {
    return { status: error.statusCode, body: mlflowBody(error.code, error.message) };
  }
  if (error instanceof ApiError) {
    const code = codeOfStatus(error.statusCode);
    // MLflow answers a request over its limits with 400; the lab's other statuses stay
    const status = error.statusCode === 413 ? 400 : error.statusCode === 409 ? 400 : error.statusCode;
    return { status, body: mlflowBody(code, error.message) };
  }
  const fastify = error as FastifyError;
  switch (fastify.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 400,
        body: mlflowBody(
          'INVALID_PARAMETER_VALUE',
          'The request body is larger than 1 MB, the limit of an MLflow request: split it across several requests.',
        ),
      };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        body: mlflowBody('MALFORMED_REQUEST', `The request body is not valid JSON: ${fastify.message}.`),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 400,
        body: mlflowBody('MALFORMED_REQUEST', 'Send the request body as JSON with "Content-Type: application/json".'),
      };
  }
  if (fastify.validation) {
    return { status: 400, body: mlflowBody('MALFORMED_REQUEST', `Invalid request: ${fastify.message}.`) };
  }
  if (fastify.code === 'ENOSPC') {
    return {
      status: 507,
      body: mlflowBody('INTERNAL_ERROR', 'The disk of the lab home is full: free some space and try again.'),
    };
  }
  const status = fastify.statusCode && fastify.statusCode >= 400 && fastify.statusCode < 500 ? fastify.statusCode : 500;
  return {
    status,
    body: mlflowBody(
      status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST',
      status >= 500 ? `Internal error: ${fastify.message}. See the lab's log.` : fastify.message,
    ),
  };
}
