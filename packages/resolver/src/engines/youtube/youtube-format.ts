import type { ResolvedMedia } from '@nexstream/core';
import type { ArtTrack, ExtractedMedia, VideoCandidate, VideoFormat } from '../../engine.js';
import { isoDate, list, record, secondsToMs, text, uniqueNames } from '../shared/track-fields.js';

const topicSuffix = / - Topic$/;

/** The `expire` parameter (unix seconds) of a media URL, as epoch milliseconds. */
export function expiryFromUrl(url: string): number | undefined {
  try {
    const expire = new URL(url).searchParams.get('expire');
    const seconds = expire === null ? Number.NaN : Number(expire);
    return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the catalogue block YouTube puts in auto-generated uploads:
 * `Provided to YouTube by <label>` / `Title · Artist · Artist` / `Album` / … / `Released on: YYYY-MM-DD`.
 */
export function parseArtTrackDescription(description: string): ArtTrack | undefined {
  if (!/^Provided to YouTube by /.test(description.trim())) return undefined;
  const blocks = description
    .trim()
    .split(/\n\s*\n/)
    .map((block) => block.trim());
  const [title, ...artists] = (blocks[1] ?? '').split(' · ').map((part) => part.trim());
  if (!title || artists.length === 0) return undefined;
  const artTrack: ArtTrack = { title, artists: uniqueNames(artists) };
  const album = blocks[2];
  if (album && !album.startsWith('℗') && !album.startsWith('Released on:')) artTrack.album = album;
  const released = /Released on:\s*(\d{4}-\d{2}-\d{2})/.exec(description)?.[1];
  if (released) artTrack.releaseDate = released;
  return artTrack;
}

/**
 * Recognizes an art track: a "… - Topic" channel, or catalogue fields (`track`, `artists`/`artist`, `album`)
 * that yt-dlp parsed from the auto-generated description. Returns the exact catalogue strings.
 */
export function artTrackOf(info: Record<string, unknown>): ArtTrack | undefined {
  const channel = text(info.channel) ?? text(info.uploader);
  const isTopic = channel !== undefined && topicSuffix.test(channel);
  const fromDescription = text(info.description)
    ? parseArtTrackDescription(String(info.description))
    : undefined;
  const trackField = text(info.track);
  const artistsField = list(info.artists).length
    ? uniqueNames(list(info.artists).map(text))
    : uniqueNames((text(info.artist) ?? '').split(/,\s*/));
  if (!isTopic && !fromDescription && !(trackField && artistsField.length > 0)) return undefined;
  const title = trackField ?? fromDescription?.title ?? text(info.title);
  if (!title) return undefined;
  const artists =
    artistsField.length > 0
      ? artistsField
      : (fromDescription?.artists ?? (isTopic ? uniqueNames([channel?.replace(topicSuffix, '')]) : []));
  const artTrack: ArtTrack = { title, artists };
  const album = text(info.album) ?? fromDescription?.album;
  if (album) artTrack.album = album;
  const releaseDate = isoDate(info.release_date) ?? fromDescription?.releaseDate;
  if (releaseDate) artTrack.releaseDate = releaseDate;
  return artTrack;
}

/**
 * True when yt-dlp's own YouTube extractor produced the info dict (`extractor_key`, or `ie_key` on a flat
 * search entry, is exactly `Youtube`). Only then is the id a YouTube video id: a page read by the generic
 * extractor can put any title, uploader or description in its HTML, but not yt-dlp's extractor key.
 */
export function isYoutubeExtraction(info: Record<string, unknown>): boolean {
  // A flat entry (`_type: url`) names the extractor that will read it in `ie_key`; newer yt-dlp releases
  // also copy the search's own `extractor_key` (`YoutubeSearch`) onto it.
  const key = info._type === 'url' ? text(info.ie_key) : (text(info.extractor_key) ?? text(info.ie_key));
  return key === 'Youtube';
}

function thumbnailOf(info: Record<string, unknown>): string | undefined {
  const thumbnails = list(info.thumbnails).map(record);
  return text(info.thumbnail) ?? text(thumbnails[thumbnails.length - 1]?.url);
}

/** Maps one yt-dlp info dict (a flat search entry or a full video) to a candidate. */
export function mapVideoCandidate(
  value: unknown,
  engine: string,
  foundByIsrc?: string,
): VideoCandidate | undefined {
  const info = record(value);
  const id = text(info.id);
  const title = text(info.title);
  if (!id || !title) return undefined;
  const youtube = isYoutubeExtraction(info);
  const pageUrl =
    text(info.webpage_url) ??
    (text(info.url)?.startsWith('http') ? text(info.url) : undefined) ??
    (youtube ? `https://www.youtube.com/watch?v=${id}` : id);
  const candidate: VideoCandidate = {
    engine,
    mediaId: `${youtube ? 'youtube' : 'generic'}:${id}`,
    id,
    url: pageUrl!,
    title,
  };
  const channel = text(info.channel) ?? text(info.uploader);
  if (channel) candidate.channel = channel;
  const channelId = text(info.channel_id);
  if (channelId) candidate.channelId = channelId;
  if (typeof info.channel_is_verified === 'boolean') candidate.channelVerified = info.channel_is_verified;
  const durationMs = secondsToMs(info.duration);
  if (durationMs) candidate.durationMs = durationMs;
  if (typeof info.view_count === 'number') candidate.viewCount = info.view_count;
  if (info.live_status === 'is_live' || info.live_status === 'is_upcoming' || info.is_live === true) {
    candidate.live = true;
  }
  const thumbnail = thumbnailOf(info);
  if (thumbnail) candidate.thumbnailUrl = thumbnail;
  const artTrack = artTrackOf(info);
  if (artTrack) candidate.artTrack = artTrack;
  if (foundByIsrc) candidate.foundByIsrc = foundByIsrc;
  return candidate;
}

/** Maps `yt-dlp -J --flat-playlist "ytsearchN:…"` output (a `_type:"playlist"`) to candidates. */
export function parseYtDlpSearch(value: unknown, engine: string, foundByIsrc?: string): VideoCandidate[] {
  const body = record(value);
  const entries = body._type === 'playlist' ? list(body.entries) : [body];
  return entries
    .map((entry) => mapVideoCandidate(entry, engine, foundByIsrc))
    .filter((candidate): candidate is VideoCandidate => candidate !== undefined);
}

function codec(value: unknown): string | undefined {
  const name = text(value);
  return name && name !== 'none' ? name : undefined;
}

function numberField(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** Sum of a fragmented format's fragment durations, in ms (generic DASH reports no top-level duration). */
function fragmentsDurationMs(format: Record<string, unknown>): number | undefined {
  // The initialization fragment has no duration; the media fragments do.
  const durations = list(format.fragments)
    .map((fragment) => numberField(record(fragment).duration))
    .filter((duration): duration is number => duration !== undefined);
  if (durations.length === 0) return undefined;
  return Math.round(durations.reduce((sum, duration) => sum + duration, 0) * 1000);
}

/**
 * Maps a yt-dlp format dict to a {@link VideoFormat}: codecs (`none` → absent), bitrate from `tbr` (kbit/s),
 * size from `filesize`, else `filesize_approx`, else bitrate × duration; expiry from the URL's `expire`.
 * Returns `undefined` for storyboards and formats without a URL.
 */
export function mapYtDlpFormat(value: unknown, durationMs: number | undefined): VideoFormat | undefined {
  const format = record(value);
  const id = text(format.format_id);
  const url = text(format.url);
  if (!id || !url || format.ext === 'mhtml' || /storyboard/i.test(text(format.format_note) ?? ''))
    return undefined;
  const result: VideoFormat = { id, container: text(format.ext) ?? 'unknown', url };
  const videoCodec = codec(format.vcodec);
  if (videoCodec) result.videoCodec = videoCodec;
  const audioCodec = codec(format.acodec);
  if (audioCodec) result.audioCodec = audioCodec;
  const width = numberField(format.width);
  if (width) result.width = width;
  const height = numberField(format.height);
  if (height) result.height = height;
  const fps = numberField(format.fps);
  if (fps) result.fps = fps;
  const kbps = numberField(format.tbr) ?? (numberField(format.vbr) ?? 0) + (numberField(format.abr) ?? 0);
  if (kbps) result.bitrateBps = Math.round(kbps * 1000);
  const sampleRate = numberField(format.asr);
  if (sampleRate) result.sampleRateHz = sampleRate;
  const channels = numberField(format.audio_channels);
  if (channels) result.audioChannels = channels;
  const size = numberField(format.filesize);
  const approx = numberField(format.filesize_approx);
  const formatDurationMs = durationMs ?? fragmentsDurationMs(format);
  if (size) result.sizeBytes = Math.round(size);
  else if (approx) result.sizeBytesEstimate = Math.round(approx);
  else if (result.bitrateBps && formatDurationMs) {
    result.sizeBytesEstimate = Math.round((result.bitrateBps / 8) * (formatDurationMs / 1000));
  }
  const expiresAt = expiryFromUrl(url);
  if (expiresAt) result.expiresAt = expiresAt;
  const headers = record(format.http_headers);
  const headerEntries = Object.entries(headers).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  if (headerEntries.length > 0) result.headers = Object.fromEntries(headerEntries);
  const protocol = text(format.protocol);
  if (protocol) result.protocol = protocol;
  const manifestUrl = text(format.manifest_url);
  if (manifestUrl) result.manifestUrl = manifestUrl;
  return result;
}

/**
 * Maps `yt-dlp -J <video>` output to the media (formats, the chosen video+audio pair from
 * `requested_formats`, earliest expiry) and the candidate view (with art-track fields).
 */
export function parseYtDlpVideo(value: unknown, engine: string): ExtractedMedia | undefined {
  const info = record(value);
  const candidate = mapVideoCandidate(info, engine);
  if (!candidate) return undefined;
  const requested = list(info.requested_formats).map(record);
  const durationMs =
    secondsToMs(info.duration) ?? fragmentsDurationMs(requested[0] ?? {}) ?? fragmentsDurationMs(info);
  if (durationMs && !candidate.durationMs) candidate.durationMs = durationMs;
  const formats = list(info.formats)
    .map((format) => mapYtDlpFormat(format, durationMs))
    .filter((format): format is VideoFormat => format !== undefined);
  if (formats.length === 0) {
    // `-f` picked a single format and yt-dlp put its fields on the top level.
    const single = mapYtDlpFormat(info, durationMs);
    if (single) formats.push(single);
  }
  const preferred: NonNullable<ResolvedMedia['preferred']> = {};
  if (requested.length > 0) {
    for (const format of requested) {
      const id = text(format.format_id);
      if (!id) continue;
      if (codec(format.vcodec) && !preferred.videoFormatId) preferred.videoFormatId = id;
      if (codec(format.acodec) && !preferred.audioFormatId) preferred.audioFormatId = id;
    }
  } else {
    const id = text(info.format_id);
    if (id) {
      if (info.vcodec !== 'none') preferred.videoFormatId = id;
      if (info.acodec !== 'none') preferred.audioFormatId = id;
    }
  }
  const media: ExtractedMedia['media'] = {
    id: candidate.mediaId,
    platform: candidate.mediaId.startsWith('youtube:') ? 'youtube' : 'generic',
    pageUrl: candidate.url,
    title: candidate.title,
    formats,
  };
  if (candidate.channel) media.channel = candidate.channel;
  if (durationMs) media.durationMs = durationMs;
  if (preferred.videoFormatId || preferred.audioFormatId) media.preferred = preferred;
  const expiries = formats.map((format) => format.expiresAt).filter((at): at is number => at !== undefined);
  if (expiries.length > 0) media.expiresAt = Math.min(...expiries);
  return { media, candidate };
}
