/**
 * Errors that carry a Heroku-style error id and an HTTP status, so that every
 * transport (API, git hook, CLI) can report them the same way: `{id, message}`.
 */
export class PlatformError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'PlatformError';
  }
}

export const badRequest = (message: string) => new PlatformError(400, 'bad_request', message);
export const invalidParams = (message: string) => new PlatformError(422, 'invalid_params', message);
export const unauthorized = (message: string) => new PlatformError(401, 'unauthorized', message);
export const forbidden = (message: string) => new PlatformError(403, 'forbidden', message);
export const conflict = (message: string) => new PlatformError(409, 'conflict', message);
export const notFound = (resource: string, message: string) =>
  new PlatformError(404, 'not_found', message, { resource });
export const appNotFound = () => notFound('app', "Couldn't find that app.");

export function isPlatformError(err: unknown): err is PlatformError {
  return err instanceof PlatformError;
}
