import type { TrackMetadata } from '@nexstream/core';
import { parseIsrc } from '@nexstream/core';
import type { MetadataResult, TrackQuery } from '../../engine.js';
import { isoDate, list, positiveMs, record, text, uniqueNames } from '../shared/track-fields.js';

// Pure functions from MusicBrainz ws/2 JSON bodies to the engine contract's types, and its search query. Not exported from the package entries; tests import them from here.

/** Escapes a phrase for MusicBrainz's Lucene query syntax and quotes it. */
export function phrase(value: string): string {
  return `"${value.replace(/(["\\])/g, '\\$1')}"`;
}

/** Builds a recording search: `recording:"…" AND artist:"…"` (plus a duration range when known). */
export function musicBrainzRecordingQuery(track: TrackQuery): string {
  const parts = [`recording:${phrase(track.title)}`];
  const artist = track.artists[0];
  if (artist) parts.push(`artist:${phrase(artist)}`);
  if (track.durationMs) {
    const slackMs = 10_000;
    parts.push(`dur:[${Math.max(0, track.durationMs - slackMs)} TO ${track.durationMs + slackMs}]`);
  }
  return parts.join(' AND ');
}

/** The release a recording is filed under: the earliest official one, else the earliest of any status. */
export function pickRelease(releases: Record<string, unknown>[]): Record<string, unknown> | undefined {
  const official = releases.filter(
    (release) => release.status === undefined || release.status === 'Official',
  );
  const pool = official.length > 0 ? official : releases;
  return [...pool].sort((a, b) => (text(a.date) ?? '9999').localeCompare(text(b.date) ?? '9999'))[0];
}

/**
 * The other names of a recording's credited artists: each artist's own name when the credit spells it
 * differently, its sort name (`Kawai, Eri`, also read as `Eri Kawai`), and its aliases with their sort names
 * (present when the request asked for `aliases`, as searches and `inc=aliases` do). A Latin sort name is how
 * MusicBrainz ties `河井英里` to `Eri Kawai`.
 */
export function creditAliases(
  credits: ReadonlyArray<Record<string, unknown>>,
  artists: readonly string[],
): string[] {
  const names: Array<string | undefined> = [];
  const addSortName = (value: unknown) => {
    const sortName = text(value);
    if (!sortName) return;
    names.push(sortName);
    const parts = sortName.split(', ');
    if (parts.length === 2 && parts[0] && parts[1]) names.push(`${parts[1]} ${parts[0]}`);
  };
  for (const credit of credits) {
    const artist = record(credit.artist);
    names.push(text(artist.name));
    addSortName(artist['sort-name']);
    for (const alias of list(artist.aliases).map(record)) {
      names.push(text(alias.name));
      addSortName(alias['sort-name']);
    }
  }
  const credited = new Set(artists.map((artist) => artist.toLowerCase()));
  return uniqueNames(names).filter((name) => !credited.has(name.toLowerCase()));
}

/**
 * A recording's title with its `disambiguation` as a bracketed descriptor (`Title (live)`,
 * `Title (remix)`), the form the match scorer reads versions from. MusicBrainz keeps "live", "remix",
 * "acoustic" there and not in the title, so without it a live take reads as the studio recording.
 */
export function musicBrainzTitle(title: string, disambiguation: unknown): string {
  const descriptor = text(disambiguation);
  if (!descriptor || title.toLocaleLowerCase().includes(descriptor.toLocaleLowerCase())) return title;
  return `${title} (${descriptor})`;
}

/**
 * Maps a MusicBrainz recording (from an ISRC look-up or a search) to a result. `isrc` is the ISRC that was
 * looked up, or the recording's single ISRC in a search result; either is authoritative for that recording.
 * The title carries the recording's `disambiguation` ({@link musicBrainzTitle}); a `video: true` recording
 * is marked `video: true` (its length is the video's), and the engine lists it after audio recordings.
 */
export function mapMusicBrainzRecording(value: unknown, lookedUpIsrc?: string): MetadataResult | undefined {
  const recording = record(value);
  const id = text(recording.id);
  const plainTitle = text(recording.title);
  if (!id || !plainTitle) return undefined;
  const title = musicBrainzTitle(plainTitle, recording.disambiguation);
  const credits = list(recording['artist-credit']).map(record);
  const track: TrackMetadata = {
    title,
    artists: uniqueNames(credits.map((credit) => text(credit.name) ?? text(record(credit.artist).name))),
    ids: {},
  };
  const aliases = creditAliases(credits, track.artists);
  if (aliases.length > 0) track.artistAliases = aliases;
  const durationMs = positiveMs(recording.length);
  if (durationMs) track.durationMs = durationMs;
  const release = pickRelease(list(recording.releases).map(record));
  if (release) {
    const album = text(release.title);
    if (album) track.album = album;
    const releaseId = text(release.id);
    if (releaseId) {
      const art = `https://coverartarchive.org/release/${releaseId}/front`;
      track.coverArt = { small: `${art}-250`, medium: `${art}-500`, large: `${art}-1200` };
    }
  }
  const releaseDate = isoDate(recording['first-release-date']) ?? isoDate(release?.date);
  if (releaseDate) track.releaseDate = releaseDate;
  const isrcs = list(recording.isrcs).map(parseIsrc).filter(Boolean) as string[];
  const isrc = lookedUpIsrc ?? (isrcs.length === 1 ? isrcs[0] : undefined);
  if (isrc) track.isrc = isrc;
  const result: MetadataResult = {
    engine: 'musicbrainz',
    track,
    isrcAuthoritative: isrc !== undefined,
    url: `https://musicbrainz.org/recording/${id}`,
  };
  if (typeof recording.score === 'number') result.relevance = Math.max(0, Math.min(1, recording.score / 100));
  if (recording.video === true) result.video = true;
  return result;
}

/** Audio recordings before video recordings, otherwise in the service's order (a stable sort). */
export function audioFirst(results: MetadataResult[]): MetadataResult[] {
  return [...results].sort((a, b) => Number(a.video === true) - Number(b.video === true));
}
