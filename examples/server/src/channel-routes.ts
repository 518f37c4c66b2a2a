import type { IncomingMessage } from 'node:http';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { type BroadcasterMiddleware, createBroadcasterRouter } from '@nexstream/hls-broadcaster/express';
import { type Router as ExpressRouter, type Request, Router } from 'express';
import { keyMatches, presentedKey, requireKey, route } from './http.js';
import type { Services } from './services.js';

/**
 * The channels: `GET /api/channels` lists them, `POST /api/channels` `{ "id": "<id>" }` creates one (the API
 * key when one is set; `maxChannels` at most), and `/api/channels/:id/…` is the broadcaster's API for an
 * existing channel (upload, playlist, stream control, events, HLS files; see the hls-broadcaster README).
 * An unknown channel is 404 for every route and nothing is made on disk. Reads are open; uploads and changes
 * need the API key when one is set. Upload and event-stream limits count per client IP across all channels.
 */
export function channelRoutes(services: Services): ExpressRouter {
  const { config, broadcaster } = services;
  const router = Router();
  const routers = new Map<string, BroadcasterMiddleware>();
  const authorize = (request: IncomingMessage, kind: string): boolean => {
    const { apiKey } = config;
    if (!apiKey) return true;
    const mutating = kind === 'upload' || !['GET', 'HEAD'].includes(request.method ?? 'GET');
    return !mutating || keyMatches(apiKey, presentedKey(request));
  };
  const routerFor = (id: string): BroadcasterMiddleware => {
    let channelRouter = routers.get(id);
    if (!channelRouter) {
      channelRouter = createBroadcasterRouter({
        broadcaster,
        channelId: id,
        authorize,
        maxJsonBytes: config.maxJsonBytes,
        clientId: (request) => (request as Request).ip ?? request.socket?.remoteAddress ?? 'unknown',
        uploadIdleTimeoutMs: config.uploadIdleTimeoutMs,
        maxUploadsPerClient: config.maxUploadsPerClient,
        maxEventStreamsPerClient: config.maxEventStreamsPerClient,
        maxEventStreamsPerChannel: config.maxEventStreamsPerChannel,
      });
      routers.set(id, channelRouter);
    }
    return channelRouter;
  };

  router.get(
    '/api/channels',
    route(async (_request, response) => {
      response.json({ channels: await broadcaster.ids(), maxChannels: config.maxChannels });
    }),
  );
  router.post(
    '/api/channels',
    requireKey(config.apiKey),
    route(async (request, response) => {
      const id = (request.body as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string') {
        throw new NexStreamError(NexStreamErrorCode.InvalidInput, 'body must be { "id": "<channel id>" }');
      }
      const existed = broadcaster.has(id);
      const channel = await broadcaster.create(id);
      services.logger.info('channel created', { channelId: channel.id, existed });
      response.status(existed ? 200 : 201).json({ id: channel.id, created: !existed });
    }),
  );
  router.use('/api/channels/:id', (request, response, next) => {
    const id = String(request.params.id);
    // Only channels that exist get a router: made-up ids cost nothing and leave nothing behind.
    if (!broadcaster.has(id)) {
      next(
        new NexStreamError(
          NexStreamErrorCode.NotFound,
          `channel ${JSON.stringify(id.slice(0, 64))} does not exist: create it with POST /api/channels { "id": … }`,
        ),
      );
      return;
    }
    routerFor(id)(request, response, next);
  });
  return router;
}
