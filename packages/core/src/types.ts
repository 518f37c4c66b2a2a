/** The platforms NexStream reads links from and maps between. */
export type Platform = 'spotify' | 'deezer' | 'apple' | 'youtube';

/** A platform-specific id per platform, for the same recording. */
export interface PlatformIds {
  /** Spotify's base62 track id (22 characters). */
  spotify?: string;
  /** Deezer's numeric track id, as a string. */
  deezer?: string;
  /** Apple Music / iTunes numeric track id, as a string. */
  apple?: string;
  /** YouTube's 11-character video id. */
  youtube?: string;
}

/** Cover art URLs by size. Sizes are the longest edge in pixels where the source says so. */
export interface CoverArt {
  /** Around 100 px. */
  small?: string;
  /** Around 300–600 px. */
  medium?: string;
  /** 1000 px or more. */
  large?: string;
}

/** What is known about one recording. Durations are in milliseconds, dates ISO 8601 (`YYYY-MM-DD` or a prefix). */
export interface TrackMetadata {
  title: string;
  /** Main artists first, then featured artists, as credited by the source. */
  artists: string[];
  /**
   * Other names of the credited artists that the source knows: sort names (`Yonezu, Kenshi`), aliases and
   * names in other scripts (`Kenshi Yonezu` for `米津玄師`). Evidence for matching, never shown as credits.
   */
  artistAliases?: string[];
  album?: string;
  durationMs?: number;
  /** International Standard Recording Code, normalized: 12 characters, upper case, no hyphens. */
  isrc?: string;
  coverArt?: CoverArt;
  /** `YYYY`, `YYYY-MM` or `YYYY-MM-DD`. */
  releaseDate?: string;
  explicit?: boolean;
  /** Ids of this recording on each platform. */
  ids: PlatformIds;
}

/** The kinds of thing a link can point to. */
export type TrackRefKind = 'track' | 'album' | 'playlist' | 'artist';

/**
 * What the user asked for, parsed from a link, an ISRC or free text by `parseInput`.
 * A discriminated union on `type`.
 */
export type TrackRef =
  | {
      type: 'platform';
      platform: Platform;
      kind: TrackRefKind;
      /** The platform's id for the item (Spotify base62, Deezer numeric, Apple numeric, YouTube 11 chars). */
      id: string;
      /**
       * For a track inside an album URL (Apple Music `?i=`, Spotify `?highlight=spotify:track:…`): the album id.
       */
      albumId?: string;
      /** The canonical URL for the item. */
      url: string;
      /** A two-letter storefront (country) when the link carried one: Apple Music's `/us/`, `/fr/`. */
      region?: string;
      /**
       * The interface language the link carried, which says nothing about the catalogue's country: Spotify's
       * `intl-ja`, `intl-zh-hant`, Deezer's `/fr/`, `/pt-br/`.
       */
      language?: string;
    }
  | {
      /** A short link (deezer.page.link, link.deezer.com) that must be followed to learn what it names. */
      type: 'redirect';
      platform: Platform;
      url: string;
    }
  | { type: 'isrc'; isrc: string }
  | { type: 'query'; query: string };

/** A media container, as file extension. */
export type MediaContainer = 'mp4' | 'm4a' | 'webm' | 'mkv' | 'mp3' | 'ogg' | 'opus' | 'ts';

/** One downloadable stream of a media source (a yt-dlp format). */
export interface MediaFormat {
  /** The source's own format id (yt-dlp `format_id`, e.g. `137`, `251`). */
  id: string;
  container: MediaContainer | (string & {});
  /** Video codec (e.g. `avc1.640028`, `vp9`), absent for audio-only formats. */
  videoCodec?: string;
  /** Audio codec (e.g. `mp4a.40.2`, `opus`), absent for video-only formats. */
  audioCodec?: string;
  width?: number;
  height?: number;
  fps?: number;
  /** Average bitrate in bits per second. */
  bitrateBps?: number;
  /** Audio sample rate in Hz. */
  sampleRateHz?: number;
  audioChannels?: number;
  /** Exact size in bytes when the source said so. */
  sizeBytes?: number;
  /** An estimate in bytes (yt-dlp `filesize_approx`, or bitrate × duration) when the exact size is unknown. */
  sizeBytesEstimate?: number;
  /** The origin URL. Volatile: see `expiresAt`. Never handed to clients; the tunnel serves it. */
  url: string;
  /** When `url` stops working, in epoch milliseconds, if known (YouTube: the `expire` parameter). */
  expiresAt?: number;
  /** Headers the origin expects (yt-dlp `http_headers`). */
  headers?: Record<string, string>;
}

/** A video (or audio) found for a track, with its formats (the server's view: origin URLs included; see {@link PublicMedia} for clients). */
export interface ResolvedMedia {
  /** Stable id of the media, e.g. `youtube:dQw4w9WgXcQ`. */
  id: string;
  platform: Platform | 'generic';
  /** The page URL (e.g. the watch URL). */
  pageUrl: string;
  title: string;
  channel?: string;
  durationMs?: number;
  formats: MediaFormat[];
  /** The preferred video+audio pair (yt-dlp `requested_formats`), by format id. */
  preferred?: { videoFormatId?: string; audioFormatId?: string };
  /** The earliest `expiresAt` among the formats, epoch milliseconds. */
  expiresAt?: number;
}

/**
 * The old name of {@link ResolvedMedia}; it shadowed the browser's `MediaSource` (Media Source Extensions).
 *
 * @deprecated Use {@link ResolvedMedia}.
 */
export type MediaSource = ResolvedMedia;

/** A format as clients may see it: no origin URL and no origin headers (only the tunnel knows them). */
export type PublicMediaFormat = Omit<MediaFormat, 'url' | 'headers'>;

/**
 * A media as events and results carry it: the page, title, duration and formats, without any origin URL,
 * header or manifest. What an application forwards to clients is always this shape.
 */
export interface PublicMedia extends Omit<ResolvedMedia, 'formats'> {
  formats: PublicMediaFormat[];
}

/** A format without its origin URL, its headers, or the manifest URL an extractor may add beside them. */
export function toPublicFormat(format: MediaFormat | PublicMediaFormat): PublicMediaFormat {
  const {
    url: _url,
    headers: _headers,
    manifestUrl: _manifest,
    ...rest
  } = format as MediaFormat & { manifestUrl?: string };
  return rest;
}

/**
 * The public part of a media: every format without its origin URL, headers or manifest URL (see
 * {@link toPublicFormat}). The resolver's events and results carry only this.
 */
export function toPublicMedia(media: ResolvedMedia | PublicMedia): PublicMedia {
  const { formats, ...rest } = media;
  return { ...rest, formats: formats.map(toPublicFormat) };
}

/** Best size figure for a format in bytes: exact, else estimate, else `undefined`. */
export function formatSizeBytes(format: PublicMediaFormat, durationMs?: number): number | undefined {
  if (format.sizeBytes !== undefined) return format.sizeBytes;
  if (format.sizeBytesEstimate !== undefined) return format.sizeBytesEstimate;
  if (format.bitrateBps !== undefined && durationMs !== undefined) {
    return Math.round((format.bitrateBps / 8) * (durationMs / 1000));
  }
  return undefined;
}
