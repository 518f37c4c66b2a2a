import type { CoverArt, TrackMetadata } from '@nexstream/core';
import { parseIsrc } from '@nexstream/core';
import type { MetadataResult, TrackQuery } from '../../engine.js';
import { idString, isoDate, list, record, secondsToMs, text, uniqueNames } from '../shared/track-fields.js';

// Pure functions from Deezer's JSON bodies to the engine contract's types. Not exported from the package entries; tests import them from here.

/** An album's (or playlist's) cover sizes: `cover_small`, `cover_big` (or `cover_medium`), `cover_xl`. */
export function deezerCoverArt(album: Record<string, unknown>): CoverArt | undefined {
  const art: CoverArt = {};
  const small = text(album.cover_small);
  const medium = text(album.cover_big) ?? text(album.cover_medium);
  const large = text(album.cover_xl);
  if (small) art.small = small;
  if (medium) art.medium = medium;
  if (large) art.large = large;
  return Object.keys(art).length > 0 ? art : undefined;
}

/**
 * Maps a Deezer track object (full, search or album-track form) to a result. Only the full form (from
 * `/track/{id}` or `/track/isrc:`) carries `isrc`; that ISRC is authoritative. A track Deezer marks
 * `readable: false` gets `playable: false`.
 */
export function mapDeezerTrack(
  value: unknown,
  parent: { album?: Record<string, unknown> } = {},
): MetadataResult | undefined {
  const item = record(value);
  const id = idString(item.id);
  const title = text(item.title);
  if (!id || !title) return undefined;
  const album = Object.keys(record(item.album)).length > 0 ? record(item.album) : (parent.album ?? {});
  const contributors = list(item.contributors).map(record);
  const main = contributors.filter((contributor) => contributor.role !== 'Featured');
  const featured = contributors.filter((contributor) => contributor.role === 'Featured');
  const artists = uniqueNames([
    text(record(item.artist).name),
    ...main.map((contributor) => text(contributor.name)),
    ...featured.map((contributor) => text(contributor.name)),
  ]);
  const isrc = parseIsrc(item.isrc);
  const version = text(item.title_version);
  const track: TrackMetadata = {
    title: version && !title.includes(version) ? `${title} ${version}` : title,
    artists,
    ids: { deezer: id },
  };
  const albumTitle = text(album.title);
  if (albumTitle) track.album = albumTitle;
  const durationMs = secondsToMs(item.duration);
  if (durationMs) track.durationMs = durationMs;
  if (isrc) track.isrc = isrc;
  const art = deezerCoverArt(album);
  if (art) track.coverArt = art;
  const releaseDate = isoDate(item.release_date) ?? isoDate(album.release_date);
  if (releaseDate) track.releaseDate = releaseDate;
  if (typeof item.explicit_lyrics === 'boolean') track.explicit = item.explicit_lyrics;
  const result: MetadataResult = { engine: 'deezer', track, isrcAuthoritative: isrc !== undefined };
  // `readable: false`: Deezer lists the track but will not play it (withdrawn, or not licensed here).
  if (item.readable === false) result.playable = false;
  const link = text(item.link);
  if (link) result.url = link;
  return result;
}

/** Builds Deezer's advanced search query: `artist:"…" track:"…" dur_min:… dur_max:…`. */
export function deezerAdvancedQuery(track: TrackQuery, durationSlackS = 10): string {
  const quote = (value: string) => `"${value.replaceAll('"', ' ').trim()}"`;
  const parts: string[] = [];
  const artist = track.artists[0];
  if (artist) parts.push(`artist:${quote(artist)}`);
  parts.push(`track:${quote(track.title)}`);
  if (track.album) parts.push(`album:${quote(track.album)}`);
  if (track.durationMs) {
    const seconds = Math.round(track.durationMs / 1000);
    parts.push(`dur_min:${Math.max(0, seconds - durationSlackS)}`, `dur_max:${seconds + durationSlackS}`);
  }
  return parts.join(' ');
}
