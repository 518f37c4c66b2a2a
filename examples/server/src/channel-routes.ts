import type { IncomingMessage } from 'node:http';
import { type BroadcasterMiddleware, createBroadcasterRouter } from '@nexstream/hls-broadcaster/express';
import { type Router as ExpressRouter, Router } from 'express';
import { keyMatches, presentedKey } from './http.js';
import type { Services } from './services.js';

/**
 * The broadcaster's API for any channel: `/api/channels/:id/…` (upload, playlist, stream control, events,
 * HLS files; see the hls-broadcaster README). Reads are open; uploads and changes need the API key when one
 * is set. One router per channel id, made on first use.
 */
export function channelRoutes(services: Services): ExpressRouter {
  const router = Router();
  const routers = new Map<string, BroadcasterMiddleware>();
  const authorize = (request: IncomingMessage, kind: string): boolean => {
    const { apiKey } = services.config;
    if (!apiKey) return true;
    const mutating = kind === 'upload' || !['GET', 'HEAD'].includes(request.method ?? 'GET');
    return !mutating || keyMatches(apiKey, presentedKey(request));
  };
  router.use('/api/channels/:id', (request, response, next) => {
    const id = String(request.params.id);
    let channelRouter = routers.get(id);
    if (!channelRouter) {
      // broadcaster.channel() validates the id (NXS_INVALID_INPUT for a bad one).
      services.broadcaster.channel(id);
      channelRouter = createBroadcasterRouter({
        broadcaster: services.broadcaster,
        channelId: id,
        authorize,
        maxJsonBytes: services.config.maxJsonBytes,
      });
      routers.set(id, channelRouter);
    }
    channelRouter(request, response, next);
  });
  return router;
}
