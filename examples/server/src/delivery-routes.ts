import { pipeline } from 'node:stream/promises';
import {
  type DeliveryContainer,
  type DeliverySaveTarget,
  NexStreamError,
  NexStreamErrorCode,
  type PublicMediaFormat,
  planDelivery,
} from '@nexstream/core';
import { contentDisposition } from '@nexstream/core/node';
import { muxOnServer } from '@nexstream/edge-muxer/server';
import { type Router as ExpressRouter, type Request, Router } from 'express';
import { requireKey, route } from './http.js';
import { downloadName } from './media-files.js';
import { rateLimitMiddleware } from './rate-limit.js';
import type { Services } from './services.js';

const containers: readonly DeliveryContainer[] = ['mp4', 'mkv', 'webm', 'm4a', 'mp3', 'opus', 'ogg'];
const saveTargets: readonly DeliverySaveTarget[] = [
  'file-system-access',
  'service-worker',
  'opfs',
  'blob',
  'none',
];
const mimeTypes: Record<DeliveryContainer, string> = {
  mp4: 'video/mp4',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  m4a: 'audio/mp4',
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  ogg: 'audio/ogg',
};

function query(request: Request, name: string): string | undefined {
  const value = request.query[name];
  return typeof value === 'string' && value ? value : undefined;
}

/**
 * The delivery routes:
 * - `GET /api/media/:id/plan?container=&video=&audio=&worker=1&save=service-worker`: `planDelivery`'s answer
 *   for this client, with signed tunnel URLs for each input, the direct file and the server mux;
 * - `GET|HEAD /api/tunnel/:token`: the tunnel (ranges, resume, refresh on 403);
 * - `GET /api/mux/:token`: ffmpeg muxes the two tunnel streams into one file, streamed (the server path).
 *
 * Tunnel and mux URLs are capabilities: only the plan route (behind the API key, when one is set) mints them.
 */
export function deliveryRoutes(services: Services, selfUrl: () => string): ExpressRouter {
  const { config, tunnel, resolver, logger } = services;
  const router = Router();
  const isInternal = (request: Request) => request.headers['x-nexstream-internal'] === services.internalToken;

  router.get(
    '/api/media/:id/plan',
    requireKey(config.apiKey),
    route(async (request, response) => {
      const mediaId = String(request.params.id);
      const stored = await resolver.media(mediaId);
      const containerParam = query(request, 'container');
      if (containerParam && !containers.includes(containerParam as DeliveryContainer)) {
        throw new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          `container must be one of ${containers.join(', ')}`,
        );
      }
      const save = (query(request, 'save') ?? 'service-worker') as DeliverySaveTarget;
      if (!saveTargets.includes(save)) {
        throw new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          `save must be one of ${saveTargets.join(', ')}`,
        );
      }
      const videoFormatId = query(request, 'video');
      const audioFormatId = query(request, 'audio');
      const plan = planDelivery(
        stored.media,
        { worker: query(request, 'worker') !== '0', saveTarget: save },
        {
          edgeThresholdBytes: config.edgeThresholdBytes,
          ...(containerParam ? { container: containerParam as DeliveryContainer } : {}),
          ...(videoFormatId ? { videoFormatId } : {}),
          ...(audioFormatId ? { audioFormatId } : {}),
          ...(query(request, 'audioOnly') === '1' ? { audioOnly: true } : {}),
        },
      );
      const filename = downloadName(stored, plan.container);
      const expiresInMs = config.tunnelTtlMs;
      const tunnelUrl = (format: PublicMediaFormat) =>
        `/api/tunnel/${tunnel.mintToken({
          mediaId,
          formatId: format.id,
          expiresInMs,
          options: { filename: downloadName(stored, format.container) },
        })}`;
      const parts = [plan.video, plan.audio].filter((format): format is PublicMediaFormat => Boolean(format));
      const urls: Record<string, string> = {};
      if (plan.video) urls.video = tunnelUrl(plan.video);
      if (plan.audio) urls.audio = tunnelUrl(plan.audio);
      if (plan.route === 'direct' && parts[0]) urls.direct = tunnelUrl(parts[0]);
      urls.server = `/api/mux/${tunnel.mintToken({
        mediaId,
        formatId: plan.video && plan.audio ? `${plan.video.id}+${plan.audio.id}` : (parts[0]?.id ?? ''),
        expiresInMs,
        options: { filename },
      })}`;
      response.setHeader('Cache-Control', 'no-store');
      response.json({
        mediaId,
        route: plan.route,
        reason: plan.reason,
        message: plan.message,
        container: plan.container,
        mimeType: mimeTypes[plan.container],
        filename,
        estimatedBytes: plan.estimatedBytes ?? null,
        video: plan.video ?? null,
        audio: plan.audio ?? null,
        formats: stored.media.formats,
        urls,
        expiresAt: Date.now() + expiresInMs,
      });
    }),
  );

  const tunnelLimit = rateLimitMiddleware('tunnel', config.rateLimits.tunnel, isInternal);
  router.get('/api/tunnel/:token', tunnelLimit, (request, response) => void tunnel.handle(request, response));
  router.head(
    '/api/tunnel/:token',
    tunnelLimit,
    (request, response) => void tunnel.handle(request, response),
  );

  router.get(
    '/api/mux/:token',
    rateLimitMiddleware('mux', config.rateLimits.mux),
    route(async (request, response) => {
      const claims = tunnel.verifyToken(String(request.params.token));
      const filename = claims.options.filename ?? 'download.mp4';
      const container = filename.slice(filename.lastIndexOf('.') + 1) as DeliveryContainer;
      if (!containers.includes(container)) {
        throw new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          `cannot mux into ${JSON.stringify(container)}`,
        );
      }
      const stored = await resolver.media(claims.mediaId);
      const ids = claims.formatId.split('+');
      const input = (formatId: string) => ({
        url: `${selfUrl()}/api/tunnel/${tunnel.mintToken({ mediaId: claims.mediaId, formatId, expiresInMs: 6 * 3_600_000 })}`,
        headers: { 'x-nexstream-internal': services.internalToken },
      });
      const [first, second] = ids;
      if (!first) throw new NexStreamError(NexStreamErrorCode.InvalidInput, 'the mux token names no format');
      const controller = new AbortController();
      response.on('close', () => controller.abort());
      const track = stored.track;
      const output = await muxOnServer({
        ...(second ? { video: input(first), audio: input(second) } : { audio: input(first) }),
        container,
        signal: controller.signal,
        ...(track
          ? {
              metadata: {
                title: track.title,
                artists: track.artists,
                ...(track.album ? { album: track.album } : {}),
              },
            }
          : {}),
      });
      logger.info('mux: ffmpeg started', { mediaId: claims.mediaId, container, pid: output.pid });
      response.writeHead(200, {
        'Content-Type': output.contentType,
        'Content-Disposition': contentDisposition(filename),
        'Cache-Control': 'no-store',
        'X-NexStream-Route': 'server',
      });
      await pipeline(output, response).catch((error: unknown) => {
        if (!controller.signal.aborted)
          logger.warn('mux: the stream failed', { message: (error as Error).message });
      });
    }),
  );

  return router;
}
