import type { Platform, PlatformIds, TrackMetadata } from '@nexstream/core';
import { parseIsrc } from '@nexstream/core';
import type { MetadataResult } from '../../engine.js';
import { isoDate, list, record, secondsToMs, text, uniqueNames } from '../shared/track-fields.js';

// Pure functions from Soundcharts bodies to the engine contract's types. Not exported from the package entries; tests import them from here.

/** Soundcharts' platform codes for the platforms NexStream knows. */
export const soundchartsPlatformCodes: Record<Platform, string> = {
  spotify: 'spotify',
  deezer: 'deezer',
  apple: 'apple-music',
  youtube: 'youtube',
};

/** Maps a Soundcharts song envelope (`{type:"song", object:{…}}`) to a result; its ISRC is authoritative. */
export function mapSoundchartsSong(value: unknown): MetadataResult | undefined {
  const song = record(record(value).object);
  const title = text(song.name);
  if (!title) return undefined;
  const isrcField = song.isrc;
  const isrc = parseIsrc(typeof isrcField === 'string' ? isrcField : record(isrcField).value);
  const artists = uniqueNames(list(song.artists).map((artist) => text(record(artist).name)));
  const track: TrackMetadata = {
    title,
    artists: artists.length > 0 ? artists : uniqueNames([text(song.creditName)]),
    ids: {},
  };
  // The schema does not state the unit; observed values (189 for a ~3 min song) are seconds.
  const durationMs = secondsToMs(song.duration);
  if (durationMs) track.durationMs = durationMs;
  if (isrc) track.isrc = isrc;
  const image = text(song.imageUrl);
  if (image) track.coverArt = { medium: image };
  const releaseDate = isoDate(song.releaseDate);
  if (releaseDate) track.releaseDate = releaseDate;
  if (typeof song.explicit === 'boolean') track.explicit = song.explicit;
  const result: MetadataResult = { engine: 'soundcharts', track, isrcAuthoritative: isrc !== undefined };
  const url = text(song.appUrl);
  if (url) result.url = url;
  return result;
}

/** Maps `/song/{uuid}/identifiers` items to platform ids (the default identifier per platform). */
export function mapSoundchartsIdentifiers(value: unknown): PlatformIds {
  const ids: PlatformIds = {};
  const byCode = new Map(
    Object.entries(soundchartsPlatformCodes).map(([platform, code]) => [code, platform as Platform]),
  );
  for (const item of list(record(value).items).map(record)) {
    const platform = byCode.get(text(item.platformCode) ?? '');
    const identifier = text(item.identifier);
    if (!platform || !identifier) continue;
    if (ids[platform] === undefined || item.default === true) ids[platform] = identifier;
  }
  return ids;
}
