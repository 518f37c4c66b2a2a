/**
 * `@nexstream/hls-broadcaster/express`: the seed API as Express middleware (no runtime import of express).
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHttpHandler, type HttpHandlerOptions } from './http-handler.js';

/** An Express-compatible middleware (also a valid `express.Router()` child): `(req, res, next)`. */
export type BroadcasterMiddleware = (
  request: IncomingMessage,
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * The seed API as Express middleware: `app.use('/tv', createBroadcasterRouter({ broadcaster }))`, for the
 * channel `main` once it exists (`await broadcaster.create('main')`; until then every route is 404).
 *
 * It wraps the framework-free {@link createHttpHandler} instead of building an `express.Router()`, so this
 * package never imports express at runtime (express stays a dev dependency and any Express 4/5 app works).
 * Express strips the mount path from `req.url`, so no `basePath` is needed; a JSON body already parsed by
 * `express.json()` is used as is; paths it does not serve go to `next()`.
 */
export function createBroadcasterRouter(
  options: Omit<HttpHandlerOptions, 'basePath'>,
): BroadcasterMiddleware {
  const handler = createHttpHandler(options);
  return (request, response, next) => {
    handler(request, response, next).catch(next);
  };
}
