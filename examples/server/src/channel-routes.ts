import type { IncomingMessage } from 'node:http';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { Broadcaster } from '@nexstream/hls-broadcaster';
import { type BroadcasterMiddleware, createBroadcasterRouter } from '@nexstream/hls-broadcaster/express';
import { type Router as ExpressRouter, type Request, Router } from 'express';
import { clientIpHeader, clusterTokenHeader, fromClusterPeer, proxiedByHeader } from './cluster/proxy.js';
import { keyMatches, presentedKey, requireKey, route } from './http.js';
import type { Services } from './services.js';

/**
 * The channels: `GET /api/channels` lists them, `POST /api/channels` `{ "id": "<id>" }` creates one (the API
 * key when one is set; `maxChannels` at most), and `/api/channels/:id/…` is the broadcaster's API for an
 * existing channel (upload, playlist, stream control, events, HLS files; see the hls-broadcaster README).
 * An unknown channel is 404 for every route and nothing is made on disk. Reads are open; uploads and changes
 * need the API key when one is set. Upload and event-stream limits count per client IP across all channels.
 * In cluster mode the cluster routes (mounted first) have made sure this instance owns the channel; a request
 * forwarded by another instance counts against the client address that instance saw.
 */
export function channelRoutes(services: Services): ExpressRouter {
  const { config, broadcaster } = services;
  const router = Router();
  const { cluster } = services;
  const routers = new Map<string, { broadcaster: Broadcaster; router: BroadcasterMiddleware }>();
  const clientId = (request: IncomingMessage): string => {
    const forwarded = request.headers[clientIpHeader];
    if (cluster && typeof forwarded === 'string' && fromClusterPeer(request, cluster.peerToken))
      return forwarded;
    return (request as Request).ip ?? request.socket?.remoteAddress ?? 'unknown';
  };
  const authorize = (request: IncomingMessage, kind: string): boolean => {
    const { apiKey } = config;
    if (!apiKey) return true;
    const mutating = kind === 'upload' || !['GET', 'HEAD'].includes(request.method ?? 'GET');
    return !mutating || keyMatches(apiKey, presentedKey(request));
  };
  // One router per channel and broadcaster: in cluster mode a channel taken again gets a new broadcaster.
  const routerFor = (id: string, owner: Broadcaster): BroadcasterMiddleware => {
    let channelRouter = routers.get(id);
    if (channelRouter?.broadcaster !== owner) {
      const router = createBroadcasterRouter({
        broadcaster: owner,
        channelId: id,
        authorize,
        maxJsonBytes: config.maxJsonBytes,
        clientId,
        uploadIdleTimeoutMs: config.uploadIdleTimeoutMs,
        maxUploadsPerClient: config.maxUploadsPerClient,
        maxEventStreamsPerClient: config.maxEventStreamsPerClient,
        maxEventStreamsPerChannel: config.maxEventStreamsPerChannel,
      });
      channelRouter = { broadcaster: owner, router };
      routers.set(id, channelRouter);
    }
    return channelRouter.router;
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
      const existed = await broadcaster.exists(id);
      if (cluster) {
        const target = await cluster.create(id);
        if (target.kind === 'remote') {
          // Another instance holds the new channel's lease (it is creating it): ask it.
          const answer = await forwardCreate(request, target.lease.ownerUrl, id);
          response.status(answer.status).json(answer.body);
          return;
        }
        await target.broadcaster.create(id);
      } else {
        await broadcaster.create(id);
      }
      services.logger.info('channel created', { channelId: id, existed });
      response.status(existed ? 200 : 201).json({ id, created: !existed });
    }),
  );
  router.use('/api/channels/:id', async (request, response, next) => {
    const id = String(request.params.id);
    // Only channels that exist get a router: made-up ids cost nothing and leave nothing behind.
    const exists = await broadcaster.exists(id).catch((error: unknown) => {
      next(error);
      return undefined;
    });
    if (exists === undefined) return;
    if (!exists) {
      next(
        new NexStreamError(
          NexStreamErrorCode.NotFound,
          `channel ${JSON.stringify(id.slice(0, 64))} does not exist: create it with POST /api/channels { "id": … }`,
        ),
      );
      return;
    }
    const owner = cluster ? cluster.local(id) : broadcaster;
    if (!owner) {
      next(
        new NexStreamError(
          NexStreamErrorCode.Unreachable,
          `channel ${id} is moving to another instance: try again in a second`,
          { retryable: true, retryAfterMs: 1000 },
        ),
      );
      return;
    }
    routerFor(id, owner)(request, response, next);
  });

  /** `POST /api/channels` at the instance that holds the new channel's lease. */
  const forwardCreate = async (
    request: Request,
    ownerUrl: string,
    id: string,
  ): Promise<{ status: number; body: unknown }> => {
    if (!cluster || request.headers[proxiedByHeader] !== undefined) {
      throw new NexStreamError(
        NexStreamErrorCode.Unreachable,
        `channel ${id} is being created by another instance: try again in a second`,
        { retryable: true, retryAfterMs: 1000 },
      );
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [proxiedByHeader]: cluster.instanceId,
      [clusterTokenHeader]: cluster.peerToken,
      [clientIpHeader]: request.ip ?? 'unknown',
    };
    for (const name of ['authorization', 'x-api-key', 'origin', 'host']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await fetch(new URL('/api/channels', ownerUrl), {
      method: 'POST',
      headers,
      body: JSON.stringify({ id }),
    }).catch((error: unknown) => {
      throw new NexStreamError(
        NexStreamErrorCode.Unreachable,
        `the owner of channel ${id} (${ownerUrl}) did not answer: ${(error as Error).message}`,
        { cause: error, retryable: true, retryAfterMs: 1000 },
      );
    });
    return { status: answer.status, body: await answer.json() };
  };
  return router;
}
