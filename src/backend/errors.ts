/** An error whose message is meant for a person and whose status is an HTTP 4xx/5xx. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) =>
  new ApiError(
    404,
    'not_found',
    `No ${what} with id "${id}" exists: it may have been deleted. Refresh and pick another.`,
  );
