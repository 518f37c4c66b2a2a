import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { type Router as ExpressRouter, type Request, type Response, Router } from 'express';
import { requireKey, route } from '../http.js';
import type { Services } from '../services.js';
import type { ChannelLease } from './leases.js';
import { proxiedByHeader, proxyRequest } from './proxy.js';

/** The header on every answer about a channel in cluster mode: the instance that answered it. */
export const servedByHeader = 'X-NexStream-Served-By';

/**
 * Cluster mode's routes, mounted before the body parsers: `/api/channels/:id/…` of an existing channel is
 * answered here when this instance holds (or can take) the channel's lease, and forwarded to the owner
 * otherwise (API, event streams, HLS files, uploads, streamed). A forwarded request is never forwarded again:
 * an instance that receives one for a channel it does not hold answers 503 (the lease is moving; retry).
 * `GET /api/cluster/leases` (the API key when one is set) lists who owns what.
 */
export function clusterRoutes(services: Services): ExpressRouter {
  const router = Router();
  const { cluster } = services;
  if (!cluster) return router;
  const { broadcaster: directory } = services;

  router.get(
    '/api/cluster/leases',
    requireKey(services.config.apiKey),
    route(async (_request, response) => {
      response.json({
        instanceId: cluster.instanceId,
        instanceUrl: cluster.instanceUrl,
        owned: cluster.owned(),
        leases: await cluster.leases(),
      });
    }),
  );

  router.use(
    '/api/channels/:id',
    route(async (request, response, next) => {
      const id = String(request.params.id);
      // Unknown channels fall through to the channel routes' 404; nothing is leased for them.
      if (!(await directory.exists(id))) return next();
      const target = await cluster.route(id);
      if (target.kind === 'local') {
        cluster.track(id, response);
        response.setHeader(servedByHeader, cluster.instanceId);
        return next();
      }
      await forward(request, response, id, target.lease);
    }),
  );

  const forward = async (request: Request, response: Response, id: string, lease: ChannelLease) => {
    const via = request.headers[proxiedByHeader];
    if (via !== undefined) {
      throw new NexStreamError(
        NexStreamErrorCode.Unreachable,
        `channel ${id}: ${String(via)} forwarded this request here, but ${lease.owner} holds the channel: its ownership is moving, try again in a second`,
        { retryable: true, retryAfterMs: 1000 },
      );
    }
    try {
      await proxyRequest(request, response, {
        target: lease.ownerUrl,
        path: request.originalUrl,
        instanceId: cluster.instanceId,
        token: cluster.peerToken,
        clientIp: request.ip ?? request.socket.remoteAddress ?? 'unknown',
      });
    } catch (error) {
      cluster.forget(id);
      throw error;
    }
  };
  return router;
}
