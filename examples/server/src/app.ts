import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import express, { type Express } from 'express';
import { channelRoutes } from './channel-routes.js';
import { clusterRoutes } from './cluster/cluster-routes.js';
import { deliveryRoutes } from './delivery-routes.js';
import { errorMiddleware } from './http.js';
import { registryRoutes } from './registry-routes.js';
import { hostGuard, originGuard } from './request-guards.js';
import { resolveRoutes, type StreamTracker } from './resolve-routes.js';
import type { Services } from './services.js';
import { staticRoutes } from './static-files.js';

/**
 * The Express app: request logging, the JSON body limit, the API routes, the static files, and JSON errors.
 * `selfUrl` is where the server reaches itself (the server muxer reads the tunnel over loopback).
 */
export function createApp(services: Services, streams: StreamTracker, selfUrl: () => string): Express {
  const { config, logger } = services;
  const app = express();
  app.disable('x-powered-by');
  if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);
  // Before anything else: a request for another host name (DNS rebinding) gets nothing, not even a file.
  app.use(hostGuard(config));
  app.use((request, response, next) => {
    const started = performance.now();
    // Read now: once a refused body's connection is closed the socket (and so `request.ip`) is gone.
    const ip = request.ip;
    // Read now too: a router mounted on a prefix strips it from `request.path` and, when it answers without
    // calling `next`, never puts it back (`/api/channels/…` would read as `/channels/…` at `finish`).
    const apiRequest = request.path.startsWith('/api/');
    response.on('finish', () => {
      if (request.headers['x-nexstream-internal'] === services.internalToken) return;
      const level = response.statusCode >= 500 ? 'warn' : apiRequest ? 'info' : 'debug';
      logger[level]('request', {
        method: request.method,
        path: request.originalUrl,
        status: response.statusCode,
        durationMs: Math.round(performance.now() - started),
        ip,
      });
    });
    response.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(originGuard(config));
  // Cluster mode: a channel's requests reach its owner, bodies unread (streamed through); a no-op otherwise.
  app.use(clusterRoutes(services));
  const json = express.json({ limit: config.maxJsonBytes });
  // A playlist reorder names every item: the broadcaster reads that body itself, with a limit sized by the
  // playlist's item count (a 10,000-item reorder is ~400 KB), so it is not parsed here.
  const reorderPath = /^\/channels\/[^/]+\/playlist\/order$/;
  app.use('/api', (request, response, next) =>
    reorderPath.test(request.path) ? next() : json(request, response, next),
  );
  app.get('/api/health', (_request, response) => {
    const { ytDlp } = services;
    response.json({
      ok: true,
      fixtures: config.fixtures,
      openStreams: streams.size,
      tools: {
        'yt-dlp': ytDlp
          ? {
              version: ytDlp.version,
              releaseDate: ytDlp.releaseDate ?? null,
              ageDays: ytDlp.ageDays ?? null,
              stale: ytDlp.stale,
              update: ytDlp.updateCommand,
            }
          : null,
      },
      warnings: ytDlp?.stale ? [ytDlp.warning] : [],
    });
  });
  app.get('/api/config', (_request, response) => {
    response.json({
      fixtures: config.fixtures,
      apiKeyRequired: Boolean(config.apiKey),
      exampleLink: services.fixtures?.spotifyTrackLink ?? null,
      edgeThresholdBytes: config.edgeThresholdBytes,
      maxUploadBytes: config.maxUploadBytes,
    });
  });
  app.use(resolveRoutes(services, streams));
  app.use(deliveryRoutes(services, selfUrl));
  app.use(registryRoutes(services));
  app.use(channelRoutes(services));
  app.use('/api', (request, _response, next) => {
    next(
      new NexStreamError(NexStreamErrorCode.NotFound, `no route for ${request.method} /api${request.path}`),
    );
  });
  app.use(staticRoutes(services));
  app.use(errorMiddleware(logger));
  return app;
}
