import type { Platform, PlatformIds, TrackMetadata } from '@nexstream/core';
import type { MetadataResult } from '../../engine.js';
import { record, text, uniqueNames } from '../shared/track-fields.js';

// Pure functions from Odesli `links` bodies to the engine contract's types. Not exported from the package entries; tests import them from here.

/** Odesli's `linksByPlatform` keys for the platforms NexStream knows, in order of preference. */
export const platformKeys: Array<[string, Platform]> = [
  ['spotify', 'spotify'],
  ['deezer', 'deezer'],
  ['appleMusic', 'apple'],
  ['itunes', 'apple'],
  ['youtubeMusic', 'youtube'],
  ['youtube', 'youtube'],
];

/** The platform id inside an Odesli `entityUniqueId` (`SPOTIFY_SONG::0Jcij…` → `0Jcij…`). */
export function entityId(uniqueId: unknown): string | undefined {
  const value = text(uniqueId);
  return value?.includes('::') ? value.slice(value.indexOf('::') + 2) : undefined;
}

/**
 * `linksByPlatform` keys whose song entity names the recording in catalogue terms, most trusted first. A
 * YouTube entity is a video: its title and uploader ("INZO - Angst" by "Lowly.") are not the song's.
 */
export const catalogueKeys = [
  'spotify',
  'deezer',
  'appleMusic',
  'itunes',
  'tidal',
  'amazonMusic',
  'amazonStore',
  'soundcloud',
  'pandora',
  'napster',
];

/** Whether an Odesli entity is a YouTube video (its id prefix or its API provider says so). */
export function isYoutubeEntity(uniqueId: string, entity: Record<string, unknown>): boolean {
  return uniqueId.startsWith('YOUTUBE_') || entity.apiProvider === 'youtube';
}

/**
 * The entity whose title and artist describe the song. For a YouTube input that is a `type: "song"` entity
 * of another platform (Spotify, Deezer, Apple, then the rest), found through `linksByPlatform`; the YouTube
 * entity itself only when the answer holds no other.
 */
export function songEntity(body: Record<string, unknown>, mainId: string): Record<string, unknown> {
  const entities = record(body.entitiesByUniqueId);
  const main = record(entities[mainId]);
  if (!isYoutubeEntity(mainId, main)) return main;
  const links = record(body.linksByPlatform);
  const keys = [...catalogueKeys, ...Object.keys(links).filter((key) => !catalogueKeys.includes(key))];
  for (const key of keys) {
    const uniqueId = text(record(links[key]).entityUniqueId);
    if (!uniqueId) continue;
    const entity = record(entities[uniqueId]);
    if (entity.type === 'song' && text(entity.title) && !isYoutubeEntity(uniqueId, entity)) return entity;
  }
  return main;
}

/**
 * Maps an Odesli `links` response: the song's title and artist, and the per-platform ids. For a YouTube
 * link the title and artist come from another platform's song entity, not from the video. Tolerates a
 * degraded answer with empty `linksByPlatform` (since 2026 it no longer returns YouTube or Spotify links).
 * Returns `undefined` for a "no match" body (`entityUniqueId: ""`).
 */
export function mapOdesliLinks(value: unknown): MetadataResult | undefined {
  const body = record(value);
  const mainId = text(body.entityUniqueId);
  if (!mainId) return undefined;
  const entity = songEntity(body, mainId);
  const title = text(entity.title);
  if (!title) return undefined;
  const ids: PlatformIds = {};
  const links = record(body.linksByPlatform);
  for (const [key, platform] of platformKeys) {
    if (ids[platform] !== undefined) continue;
    const id = entityId(record(links[key]).entityUniqueId);
    if (id) ids[platform] = id;
  }
  const track: TrackMetadata = { title, artists: uniqueNames([text(entity.artistName)]), ids };
  const thumbnail = text(entity.thumbnailUrl);
  if (thumbnail) track.coverArt = { medium: thumbnail };
  const result: MetadataResult = { engine: 'odesli', track, isrcAuthoritative: false };
  const page = text(body.pageUrl);
  if (page) result.url = page;
  return result;
}
