import type { ArtTrack, VideoCandidate } from '../../engine.js';
import { text, uniqueNames } from '../shared/track-fields.js';

/** What kind of upload a YouTube Music result is (see {@link VideoCandidate.resultType}). */
export type YoutubeMusicResultType = NonNullable<VideoCandidate['resultType']>;

/**
 * One text run of an InnerTube list item, flattened: the words shown and, when the run is a link, where it
 * points. The engine builds these from youtubei.js's parsed nodes so that this file never imports youtubei.js.
 */
export interface MusicTextRun {
  text: string;
  /** `browseEndpoint.browseId`: `UC…` for an artist or channel, `MPRE…` for an album. */
  browseId?: string;
  /** `browseEndpointContextMusicConfig.pageType` (`MUSIC_PAGE_TYPE_ARTIST`, `…_USER_CHANNEL`, `…_ALBUM`). */
  pageType?: string;
}

/**
 * One playable result of a YouTube Music search, as InnerTube sent it: a `musicResponsiveListItemRenderer`
 * of a shelf, or the `musicCardShelfRenderer` of the top result.
 */
export interface MusicSearchEntry {
  videoId: string;
  title: string;
  /**
   * `watchEndpointMusicConfig.musicVideoType` of the title link or play button: `MUSIC_VIDEO_TYPE_ATV`
   * (art track), `_OMV` (official video), `_UGC` (user upload), `_PODCAST_EPISODE`.
   */
  musicVideoType?: string;
  /** The second line: credits, album, views, duration (`Artist • Album • 3:32`); the card's subtitle. */
  detailRuns: MusicTextRun[];
  /** Further columns (`180K plays`). */
  extraRuns: MusicTextRun[];
  /** Badge icon types (`MUSIC_EXPLICIT_BADGE`). */
  badges: string[];
  thumbnails: Array<{ url: string; width?: number; height?: number }>;
  /** Came from the top-result card (`musicCardShelfRenderer`). */
  topResult: boolean;
}

const separator = /^\s*[•·]\s*$/;
const creditJoiner = /^\s*(,|&|and|x|feat\.?|ft\.?|with)\s*$/i;
const durationText = /^\d{1,2}(?::\d{2}){1,2}$/;
const countText = /^([\d.,]+)\s*([KMB])?\s+(plays?|views?)$/i;

/** InnerTube's `musicVideoType` → {@link YoutubeMusicResultType}; `undefined` for types we do not take. */
export function musicResultType(musicVideoType: string | undefined): YoutubeMusicResultType | undefined {
  switch (musicVideoType) {
    case 'MUSIC_VIDEO_TYPE_ATV':
      return 'art-track';
    case 'MUSIC_VIDEO_TYPE_OMV':
      return 'official-video';
    case 'MUSIC_VIDEO_TYPE_UGC':
      return 'user-upload';
    case 'MUSIC_VIDEO_TYPE_PODCAST_EPISODE':
      return 'episode';
    default:
      return undefined;
  }
}

/** `3:32` or `1:02:03` → milliseconds. */
export function musicDurationMs(value: string): number | undefined {
  if (!durationText.test(value.trim())) return undefined;
  const seconds = value
    .trim()
    .split(':')
    .reduce((total, part) => total * 60 + Number(part), 0);
  return seconds > 0 ? seconds * 1000 : undefined;
}

/**
 * An abbreviated English count (`3.6M plays`, `387K views`, `1,204 views`) → a number, and whether it
 * counts plays or views. InnerTube rounds, so `3.6M` is 3,600,000. Needs the session language `en`.
 */
export function musicCount(value: string): { count: number; kind: 'plays' | 'views' } | undefined {
  const match = countText.exec(value.trim());
  if (!match) return undefined;
  const base = Number(match[1]!.replaceAll(',', ''));
  if (!Number.isFinite(base)) return undefined;
  const scale = { K: 1e3, M: 1e6, B: 1e9 }[(match[2] ?? '').toUpperCase() as 'K' | 'M' | 'B'] ?? 1;
  return {
    count: Math.round(base * scale),
    kind: match[3]!.toLowerCase().startsWith('play') ? 'plays' : 'views',
  };
}

/** Splits runs at the ` • ` separators. */
function segments(runs: MusicTextRun[]): MusicTextRun[][] {
  const parts: MusicTextRun[][] = [[]];
  for (const run of runs) {
    if (separator.test(run.text)) parts.push([]);
    else parts[parts.length - 1]!.push(run);
  }
  return parts.filter((part) => part.length > 0);
}

const isChannel = (run: MusicTextRun) => run.browseId?.startsWith('UC') === true;
const isAlbum = (run: MusicTextRun) =>
  run.browseId?.startsWith('MPRE') === true || run.pageType === 'MUSIC_PAGE_TYPE_ALBUM';

/**
 * Every credited artist of a result, in order, with its channel id when the credit is a link. The credits are
 * the segment that holds the linked artists (`A, B & C`), so unlinked co-credits in that segment count too;
 * without any link, the first segment that is not an album, a count or a duration.
 */
export function musicCredits(runs: MusicTextRun[]): Array<{ name: string; channelId?: string }> {
  const parts = segments(runs);
  const creditPart =
    parts.find((part) => part.some(isChannel)) ??
    parts.find(
      (part) =>
        !part.some(isAlbum) &&
        !part.some((run) => durationText.test(run.text.trim()) || countText.test(run.text.trim())),
    );
  if (!creditPart) return [];
  const credits: Array<{ name: string; channelId?: string }> = [];
  const seen = new Set<string>();
  for (const run of creditPart) {
    const name = text(run.text);
    if (!name || creditJoiner.test(name) || isAlbum(run)) continue;
    const key = name.toLocaleLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    credits.push(isChannel(run) ? { name, channelId: run.browseId! } : { name });
  }
  return credits;
}

/** Options for {@link mapMusicSearchEntry}. */
export interface MapMusicEntryOptions {
  engine: string;
  /** 1-based position among the playable results of the search. */
  rank: number;
  /** Set when an ISRC search found the entry. */
  foundByIsrc?: string;
}

/**
 * Maps one YouTube Music search result to a {@link VideoCandidate}. The result type comes from InnerTube's own
 * `musicVideoType`, never from title words; results of any other type (albums, artists, playlists) give
 * `undefined`. Art tracks carry `artTrack` (title, credited artists, album) because YouTube Music's catalogue
 * fields are the exact release strings.
 */
export function mapMusicSearchEntry(
  entry: MusicSearchEntry,
  options: MapMusicEntryOptions,
): VideoCandidate | undefined {
  const id = text(entry.videoId);
  const title = text(entry.title);
  const resultType = musicResultType(entry.musicVideoType);
  if (!id || !/^[A-Za-z0-9_-]{11}$/.test(id) || !title || !resultType) return undefined;
  const candidate: VideoCandidate = {
    engine: options.engine,
    mediaId: `youtube:${id}`,
    id,
    url: `https://music.youtube.com/watch?v=${id}`,
    title,
    resultType,
    rank: options.rank,
    topResult: entry.topResult,
  };
  const credits = musicCredits(entry.detailRuns);
  if (credits.length > 0) {
    candidate.credits = credits;
    candidate.channel = credits[0]!.name;
    if (credits[0]!.channelId) candidate.channelId = credits[0]!.channelId;
  }
  const albumRun = entry.detailRuns.find(isAlbum);
  const albumTitle = albumRun ? text(albumRun.text) : undefined;
  if (albumRun && albumTitle) {
    candidate.album = albumRun.browseId
      ? { title: albumTitle, id: albumRun.browseId }
      : { title: albumTitle };
  }
  const allRuns = [...entry.detailRuns, ...entry.extraRuns];
  const durationRun = [...allRuns].reverse().find((run) => musicDurationMs(run.text) !== undefined);
  if (durationRun) candidate.durationMs = musicDurationMs(durationRun.text)!;
  for (const run of allRuns) {
    const counted = musicCount(run.text);
    if (counted?.kind === 'plays') candidate.plays = counted.count;
    if (counted?.kind === 'views') candidate.viewCount = counted.count;
  }
  if (resultType === 'art-track' || resultType === 'official-video') {
    candidate.explicit = entry.badges.includes('MUSIC_EXPLICIT_BADGE');
  } else if (entry.badges.includes('MUSIC_EXPLICIT_BADGE')) {
    candidate.explicit = true;
  }
  const thumbnail = [...entry.thumbnails].sort((a, b) => (b.width ?? 0) - (a.width ?? 0))[0];
  if (thumbnail?.url) candidate.thumbnailUrl = thumbnail.url;
  if (resultType === 'art-track') {
    const artTrack: ArtTrack = { title, artists: uniqueNames(credits.map((credit) => credit.name)) };
    if (albumTitle) artTrack.album = albumTitle;
    candidate.artTrack = artTrack;
  }
  if (options.foundByIsrc) candidate.foundByIsrc = options.foundByIsrc;
  return candidate;
}

/**
 * Maps the entries of one search, in InnerTube's order, numbering the playable ones from 1 and keeping the
 * first of any repeated video.
 */
export function mapMusicSearch(
  entries: MusicSearchEntry[],
  options: { engine: string; limit?: number; foundByIsrc?: string },
): VideoCandidate[] {
  const candidates: VideoCandidate[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (options.limit !== undefined && candidates.length >= options.limit) break;
    const candidate = mapMusicSearchEntry(entry, {
      engine: options.engine,
      rank: candidates.length + 1,
      ...(options.foundByIsrc ? { foundByIsrc: options.foundByIsrc } : {}),
    });
    if (!candidate || seen.has(candidate.id)) continue;
    seen.add(candidate.id);
    candidates.push(candidate);
  }
  return candidates;
}
