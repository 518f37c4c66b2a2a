import {
  NexStreamError,
  NexStreamErrorCode,
  type Platform,
  parseInput,
  type ResolvedMedia,
  toPublicMedia,
} from '@nexstream/core';
import type { Registry, RegistryEntry, RegistryKey } from '@nexstream/registry';
import { type Router as ExpressRouter, Router } from 'express';
import { route } from './http.js';
import type { Services } from './services.js';

const platforms: readonly Platform[] = ['spotify', 'deezer', 'apple', 'youtube'];

/** How far ahead `GET /api/registry/due` looks by default: links expiring within the next hour. */
const defaultDueWithinMs = 60 * 60 * 1000;

/**
 * The key of `?q=`: an ISRC, or a track link (Spotify, Deezer, Apple Music, YouTube) as people paste it.
 * Anything else is refused with a sentence that says what to paste instead.
 */
function keyOfQuery(text: string): RegistryKey {
  const ref = parseInput(text);
  if (ref.type === 'isrc') return { isrc: ref.isrc };
  if (ref.type === 'platform' && ref.kind === 'track') return { platform: ref.platform, id: ref.id };
  if (ref.type === 'platform') {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `that is a ${ref.platform} ${ref.kind} link: the registry maps single tracks; paste a track link or an ISRC (or seed the ${ref.kind})`,
    );
  }
  if (ref.type === 'redirect') {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `that is a ${ref.platform} short link: open it and paste the track link it leads to`,
    );
  }
  throw new NexStreamError(
    NexStreamErrorCode.InvalidInput,
    'give an ISRC or a Spotify, Deezer, Apple Music or YouTube track link',
  );
}

/** A mapping as clients see it: origin URLs removed from the media. */
function publicEntry(entry: RegistryEntry) {
  return {
    track: entry.track,
    media: toPublicMedia(structuredClone(entry.media) as ResolvedMedia),
    link: entry.link,
    verification: entry.verification,
    verifiedAt: entry.verifiedAt,
  };
}

async function lookup(registry: Registry, key: RegistryKey) {
  const entry = await registry.get(key);
  if (!entry)
    throw new NexStreamError(NexStreamErrorCode.NotFound, 'the registry has no mapping for this key');
  return publicEntry(entry);
}

/**
 * `GET /api/registry/lookup?isrc=…` (or `platform=&id=`, or `mediaId=`, or `q=` with an ISRC or a track link):
 * a stored mapping, origin URLs removed; 404 `NXS_NOT_FOUND` when unknown. `GET /api/registry/stats`: counts,
 * link states, size. `GET /api/registry/due[?withinMs=]`: the links that expired or expire within `withinMs`
 * (default one hour), soonest first, each with its track, so a person sees which mappings need a refresh.
 */
export function registryRoutes(services: Services): ExpressRouter {
  const router = Router();
  router.get(
    '/api/registry/lookup',
    route(async (request, response) => {
      const q = request.query as Record<string, unknown>;
      let key: RegistryKey;
      if (typeof q.q === 'string') key = keyOfQuery(q.q);
      else if (typeof q.isrc === 'string') key = { isrc: q.isrc };
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
          `give ?q=<ISRC or track link>, ?isrc=, ?mediaId= or ?platform=<${platforms.join('|')}>&id=`,
        );
      }
      response.json(await lookup(services.registry, key));
    }),
  );
  router.get(
    '/api/registry/stats',
    route(async (_request, response) => {
      response.json(await services.registry.stats());
    }),
  );
  router.get(
    '/api/registry/due',
    route(async (request, response) => {
      const raw = request.query.withinMs;
      const withinMs = typeof raw === 'string' ? Number(raw) : defaultDueWithinMs;
      if (!Number.isFinite(withinMs) || withinMs < 0) {
        throw new NexStreamError(NexStreamErrorCode.InvalidInput, '?withinMs= must be milliseconds ≥ 0');
      }
      const due = await services.registry.dueForRefresh({ within: withinMs, limit: 50 });
      const links = await Promise.all(
        due.map(async (link) => {
          const entry = await services.registry.get({ mediaId: link.mediaId });
          return {
            mediaId: link.mediaId,
            expiresAt: link.expiresAt,
            refreshFailures: link.refreshFailures,
            ...(entry ? { track: entry.track } : {}),
          };
        }),
      );
      response.json({ withinMs, links });
    }),
  );
  return router;
}
