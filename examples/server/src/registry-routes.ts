import { NexStreamError, NexStreamErrorCode, type Platform } from '@nexstream/core';
import type { RegistryKey } from '@nexstream/registry';
import { type Router as ExpressRouter, Router } from 'express';
import { route } from './http.js';
import { publicMedia } from './media-store.js';
import type { Services } from './services.js';

const platforms: readonly Platform[] = ['spotify', 'deezer', 'apple', 'youtube'];

/**
 * `GET /api/registry/lookup?isrc=…` (or `platform=&id=`, or `mediaId=`): a stored mapping, origin URLs
 * removed; 404 `NXS_NOT_FOUND` when unknown. `GET /api/registry/stats`: counts, link states, size.
 */
export function registryRoutes(services: Services): ExpressRouter {
  const router = Router();
  router.get(
    '/api/registry/lookup',
    route(async (request, response) => {
      const q = request.query as Record<string, unknown>;
      let key: RegistryKey;
      if (typeof q.isrc === 'string') key = { isrc: q.isrc };
      else if (typeof q.mediaId === 'string') key = { mediaId: q.mediaId };
      else if (
        typeof q.platform === 'string' &&
        typeof q.id === 'string' &&
        platforms.includes(q.platform as Platform)
      ) {
        key = { platform: q.platform as Platform, id: q.id };
      } else {
        throw new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          `give ?isrc=, ?mediaId= or ?platform=<${platforms.join('|')}>&id=`,
        );
      }
      const entry = await services.registry.get(key);
      if (!entry)
        throw new NexStreamError(NexStreamErrorCode.NotFound, 'the registry has no mapping for this key');
      response.json({
        track: entry.track,
        media: publicMedia(structuredClone(entry.media) as never),
        link: entry.link,
        verification: entry.verification,
        verifiedAt: entry.verifiedAt,
      });
    }),
  );
  router.get(
    '/api/registry/stats',
    route(async (_request, response) => {
      response.json(await services.registry.stats());
    }),
  );
  return router;
}
