import type { CoverArt, TrackMetadata } from '@nexstream/core';
import { parseIsrc } from '@nexstream/core';
import type { MetadataResult, TrackQuery } from '../../engine.js';
import {
  isoDate,
  list,
  positiveMs,
  record,
  type SizedImage,
  text,
  uniqueNames,
} from '../shared/track-fields.js';

// Pure functions from Spotify's embed pages and Web API bodies to the engine contract's types. Not exported from the package entries; tests import them from here.

/** The public page of a Spotify item (`track`, `album`, `playlist`, `artist`). */
export const spotifyUrl = (kind: string, id: string) => `https://open.spotify.com/${kind}/${id}`;

/** The id at the end of a `spotify:<kind>:<id>` URI. */
export function idFromUri(uri: unknown): string | undefined {
  const value = text(uri);
  return value?.split(':').pop();
}

/** Reads an `images[]` / `sources[]` list (`{ url, width | maxWidth }`) into sized images. */
export function images(value: unknown): SizedImage[] {
  return list(value)
    .map(record)
    .map((image) => {
      const url = text(image.url);
      const width =
        typeof image.width === 'number'
          ? image.width
          : typeof image.maxWidth === 'number'
            ? image.maxWidth
            : undefined;
      return url ? { url, ...(width === undefined ? {} : { width }) } : undefined;
    })
    .filter((image): image is SizedImage => image !== undefined);
}

/**
 * Sorts Spotify images into core's cover-art sizes. Spotify serves each cover at 640, 300 and 64 px: 640 is
 * the largest it has, so it is `large`; 300 is `medium`; 64 is `small`. An image without a width counts as
 * medium. (The shared 1000 px `large` threshold fits services that serve 1000+ px art; Spotify never does.)
 */
export function spotifyCoverArt(images: SizedImage[]): CoverArt | undefined {
  const art: CoverArt = {};
  const best: Record<keyof CoverArt, number> = { small: -1, medium: -1, large: -1 };
  for (const image of images) {
    const width = image.width ?? 300;
    const size: keyof CoverArt = width >= 600 ? 'large' : width >= 250 ? 'medium' : 'small';
    if (width > best[size]) {
      best[size] = width;
      art[size] = image.url;
    }
  }
  return Object.keys(art).length > 0 ? art : undefined;
}

/** Reads `<script id="__NEXT_DATA__">` of an embed page and returns `props.pageProps.state.data.entity`. */
export function spotifyEmbedEntity(html: string): Record<string, unknown> | undefined {
  const match = /<script[^>]*id="__NEXT_DATA__"[^>]*>([\s\S]*?)<\/script>/.exec(html);
  if (!match?.[1]) return undefined;
  try {
    const state = JSON.parse(match[1]);
    const entity = record(record(record(record(record(state).props).pageProps).state).data).entity;
    return Object.keys(record(entity)).length > 0 ? record(entity) : undefined;
  } catch {
    return undefined;
  }
}

/** An embed-page entity's cover art, from `coverArt.sources` and `visualIdentity.image`. */
export function embedCoverArt(entity: Record<string, unknown>) {
  return spotifyCoverArt([
    ...images(record(entity.coverArt).sources),
    ...images(record(entity.visualIdentity).image),
  ]);
}

/** The names of a structured `artists[]` list (`[{ name, uri }]`), in order. */
export function structuredArtists(value: unknown): string[] {
  return uniqueNames(list(value).map((artist) => text(record(artist).name)));
}

/**
 * Splits an embed page's `subtitle` ("Tyler, The Creator, Frank Ocean") into credits. The subtitle joins
 * credits with ", ", and an artist's own name can hold a comma ("Tyler, The Creator", "Earth, Wind & Fire"),
 * so a comma alone never splits a credit: only names the page states on their own (`knownNames`: structured
 * artists, the album's artist, a row credited to one artist) are cut out of it; the text between them stays
 * one credit.
 */
export function splitSpotifySubtitle(subtitle: string, knownNames: Iterable<string> = []): string[] {
  const known = new Set<string>();
  for (const name of knownNames) {
    const value = text(name);
    if (value) known.add(value.toLocaleLowerCase());
  }
  const parts = subtitle.split(', ');
  const credits: string[] = [];
  let pending: string[] = [];
  const flush = () => {
    if (pending.length > 0) credits.push(pending.join(', '));
    pending = [];
  };
  for (let start = 0; start < parts.length; ) {
    let end = -1;
    for (let candidate = parts.length; candidate > start; candidate--) {
      if (known.has(parts.slice(start, candidate).join(', ').trim().toLocaleLowerCase())) {
        end = candidate;
        break;
      }
    }
    if (end === -1) {
      pending.push(parts[start] ?? '');
      start++;
    } else {
      flush();
      credits.push(parts.slice(start, end).join(', '));
      start = end;
    }
  }
  flush();
  return uniqueNames(credits);
}

/**
 * Maps an embed-page track entity (or a `trackList[]` item). No ISRC: the embed page has none. Artists come
 * from a structured `artists[]` when the item has one, else from its `subtitle` split by
 * {@link splitSpotifySubtitle} with `knownNames`.
 */
export function mapSpotifyEmbedTrack(
  value: unknown,
  album?: string,
  knownNames: Iterable<string> = [],
): MetadataResult | undefined {
  const item = record(value);
  const id = text(item.id) ?? idFromUri(item.uri);
  const title = text(item.name) ?? text(item.title);
  if (!id || !title) return undefined;
  const artists = list(item.artists).length
    ? structuredArtists(item.artists)
    : splitSpotifySubtitle(text(item.subtitle) ?? '', knownNames);
  const track: TrackMetadata = { title, artists, ids: { spotify: id } };
  if (album) track.album = album;
  const durationMs = positiveMs(item.duration);
  if (durationMs) track.durationMs = durationMs;
  const art = embedCoverArt(item);
  if (art) track.coverArt = art;
  const releaseDate = isoDate(record(item.releaseDate).isoString);
  if (releaseDate) track.releaseDate = releaseDate;
  if (typeof item.isExplicit === 'boolean') track.explicit = item.isExplicit;
  return { engine: 'spotify', track, isrcAuthoritative: false, url: spotifyUrl('track', id) };
}

/** A podcast episode or a local file in a track list: not a catalogue recording. */
export function isEpisodeOrLocal(item: Record<string, unknown>): boolean {
  const uri = text(item.uri) ?? '';
  return (
    item.type === 'episode' ||
    item.entityType === 'episode' ||
    item.episode === true ||
    uri.startsWith('spotify:episode:') ||
    item.is_local === true ||
    uri.startsWith('spotify:local:')
  );
}

/**
 * Maps a Web API track (`/v1/tracks/{id}`, search items, or album tracks with `album` passed in). An ISRC
 * in `external_ids` is kept as a hint but never authoritative (Development-Mode apps no longer get it).
 * Accepts a playlist item (`{ is_local, track }`) too. Podcast episodes and local files give `undefined`.
 * A relinked track (`linked_from`) reports the requested id as its Spotify id and URL, and the id Spotify
 * served as `relinkedId`.
 */
export function mapSpotifyApiTrack(value: unknown, albumValue?: unknown): MetadataResult | undefined {
  const outer = record(value);
  const wrapped = 'track' in outer && typeof outer.track === 'object' && outer.track !== null;
  const item = wrapped ? record(outer.track) : outer;
  if ((wrapped && outer.is_local === true) || isEpisodeOrLocal(item)) return undefined;
  const servedId = text(item.id);
  const linkedFrom = record(item.linked_from);
  const id = text(linkedFrom.id) ?? servedId;
  const title = text(item.name);
  if (!id || !title) return undefined;
  const album = record(item.album ?? albumValue);
  const track: TrackMetadata = {
    title,
    artists: uniqueNames(list(item.artists).map((artist) => text(record(artist).name))),
    ids: { spotify: id },
  };
  const albumName = text(album.name);
  if (albumName) track.album = albumName;
  const durationMs = positiveMs(item.duration_ms);
  if (durationMs) track.durationMs = durationMs;
  const isrc = parseIsrc(record(item.external_ids).isrc);
  if (isrc) track.isrc = isrc;
  const art = spotifyCoverArt(images(album.images));
  if (art) track.coverArt = art;
  const releaseDate = isoDate(album.release_date);
  if (releaseDate) track.releaseDate = releaseDate;
  if (typeof item.explicit === 'boolean') track.explicit = item.explicit;
  const relinked = servedId !== undefined && servedId !== id;
  const result: MetadataResult = {
    engine: 'spotify',
    track,
    isrcAuthoritative: false,
    url: text(record((relinked ? linkedFrom : item).external_urls).spotify) ?? spotifyUrl('track', id),
  };
  if (relinked) result.relinkedId = servedId;
  return result;
}

/** Builds a Web API search query: `track:"…" artist:"…"`. */
export function spotifySearchQuery(track: TrackQuery): string {
  const clean = (value: string) => value.replaceAll('"', ' ').trim();
  const artist = track.artists[0];
  return [`track:"${clean(track.title)}"`, artist ? `artist:"${clean(artist)}"` : '']
    .filter(Boolean)
    .join(' ');
}
