import type { CoverArt, TrackMetadata } from '@nexstream/core';
import type { MetadataResult } from '../../engine.js';
import { idString, isoDate, positiveMs, record, text, uniqueNames } from '../shared/track-fields.js';

// Pure functions from iTunes Search API bodies to the engine contract's types. Not exported from the package entries; tests import them from here.

/**
 * Rewrites an iTunes artwork URL (`…/100x100bb.jpg`) to another square size, a widely used convention.
 */
export function itunesArtwork(url: string, size: number): string {
  return url.replace(/\/\d+x\d+(bb|cc|sr)?(\.\w+)$/, `/${size}x${size}$1$2`);
}

/** Cover art at 100, 600 and 1000 px, rewritten from the item's `artworkUrl100` (or `artworkUrl60`). */
export function itunesCoverArt(item: Record<string, unknown>): CoverArt | undefined {
  const source = text(item.artworkUrl100) ?? text(item.artworkUrl60);
  if (!source) return undefined;
  return {
    small: itunesArtwork(source, 100),
    medium: itunesArtwork(source, 600),
    large: itunesArtwork(source, 1000),
  };
}

/**
 * Maps an iTunes `wrapperType:"track"` result. iTunes never returns an ISRC, so results are never
 * authoritative: they are fuzzy metadata and artwork.
 */
export function mapItunesTrack(value: unknown): MetadataResult | undefined {
  const item = record(value);
  if (item.wrapperType !== 'track' || (item.kind !== undefined && item.kind !== 'song')) return undefined;
  const id = idString(item.trackId);
  const title = text(item.trackName);
  if (!id || !title) return undefined;
  const track: TrackMetadata = { title, artists: uniqueNames([text(item.artistName)]), ids: { apple: id } };
  const album = text(item.collectionName);
  if (album) track.album = album;
  const durationMs = positiveMs(item.trackTimeMillis);
  if (durationMs) track.durationMs = durationMs;
  const art = itunesCoverArt(item);
  if (art) track.coverArt = art;
  const releaseDate = isoDate(item.releaseDate);
  if (releaseDate) track.releaseDate = releaseDate;
  if (item.trackExplicitness === 'explicit') track.explicit = true;
  else if (item.trackExplicitness === 'notExplicit' || item.trackExplicitness === 'cleaned')
    track.explicit = false;
  const result: MetadataResult = { engine: 'itunes', track, isrcAuthoritative: false };
  const url = text(item.trackViewUrl);
  if (url) result.url = url;
  return result;
}
