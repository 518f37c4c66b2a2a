import { timingSafeEqual } from 'node:crypto';
import { httpStatusFor, NexStreamError, NexStreamErrorCode, toNexStreamError } from '@nexstream/core';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from './logger.js';

/** Express handler type used by every route: async, errors go to the error middleware. */
export type Handler = (request: Request, response: Response, next: NextFunction) => unknown;

/** Wraps an async handler so a rejection reaches Express's error middleware. */
export function route(handler: Handler): Handler {
  return (request, response, next) => {
    Promise.resolve(handler(request, response, next)).catch(next);
  };
}

/** Sends a NexStream error as `{ error: { code, message, retryable, retryAfterMs? } }` with its HTTP status. */
export function sendError(response: Response, error: NexStreamError): void {
  const status = httpStatusFor(error.code);
  if (error.retryAfterMs !== undefined && !response.headersSent) {
    response.setHeader('Retry-After', String(Math.ceil(error.retryAfterMs / 1000)));
  }
  response.status(status === 499 ? 400 : status).json({
    error: {
      code: error.code,
      message: error.message,
      retryable: error.retryable,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    },
  });
}

/** The last middleware: every error becomes a JSON error answer (or a cut connection once bytes were sent). */
export function errorMiddleware(logger: Logger) {
  return (error: unknown, request: Request, response: Response, _next: NextFunction): void => {
    const failure = bodyParserError(error) ?? toNexStreamError(error);
    if (failure.code === NexStreamErrorCode.Internal) {
      logger.error('request failed', {
        path: request.path,
        message: failure.message,
        cause: String(failure.cause ?? ''),
      });
    }
    if (response.headersSent) {
      response.destroy();
      return;
    }
    sendError(response, failure);
  };
}

/** Maps body-parser's errors (too large, malformed JSON) to NexStream codes. */
function bodyParserError(error: unknown): NexStreamError | undefined {
  const type = (error as { type?: string } | null)?.type;
  if (type === 'entity.too.large') {
    return new NexStreamError(
      NexStreamErrorCode.TooLarge,
      'the request body is larger than this server accepts',
    );
  }
  if (type === 'entity.parse.failed') {
    return new NexStreamError(NexStreamErrorCode.InvalidInput, 'the request body is not valid JSON');
  }
  return undefined;
}

/** The key a request presents: `Authorization: Bearer <key>`, `X-Api-Key`, or `?key=` (EventSource cannot send headers). */
export function presentedKey(request: {
  headers: Record<string, string | string[] | undefined>;
  url?: string;
}): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string' && /^Bearer\s+/i.test(authorization))
    return authorization.replace(/^Bearer\s+/i, '').trim();
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  const query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('key');
  return query ?? undefined;
}

/** True when `presented` equals `expected` (constant time). */
export function keyMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Middleware requiring the API key when one is configured (401 `NXS_UNAUTHORIZED` otherwise). */
export function requireKey(apiKey: string | undefined): Handler {
  return (request, _response, next) => {
    if (!apiKey || keyMatches(apiKey, presentedKey(request))) return next();
    next(
      new NexStreamError(
        NexStreamErrorCode.Unauthorized,
        'this route needs the API key: send "Authorization: Bearer <NEXSTREAM_API_KEY>" (or ?key= for event streams)',
      ),
    );
  };
}
