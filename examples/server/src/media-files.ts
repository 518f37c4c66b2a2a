import type { PublicMedia, PublicMediaFormat, TrackMetadata } from '@nexstream/core';

/** `Content-Type` of a format by container and whether it has video. */
export function formatContentType(format: PublicMediaFormat): string {
  const video = Boolean(format.videoCodec);
  switch (format.container) {
    case 'mp4':
      return video ? 'video/mp4' : 'audio/mp4';
    case 'm4a':
      return 'audio/mp4';
    case 'webm':
      return video ? 'video/webm' : 'audio/webm';
    case 'mkv':
      return 'video/x-matroska';
    case 'mp3':
      return 'audio/mpeg';
    case 'ogg':
    case 'opus':
      return 'audio/ogg';
    default:
      return 'application/octet-stream';
  }
}

/**
 * A file name for a download: `Artist - Title.ext` from the track the media was resolved for (a resolver
 * `MediaHandle`), else the media's title, without characters file systems refuse.
 */
export function downloadName(held: { media: PublicMedia; track?: TrackMetadata }, extension: string): string {
  const base = held.track
    ? `${held.track.artists.join(', ')} - ${held.track.title}`
    : held.media.title || held.media.id;
  const clean = base
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f<>:"/\\|?*]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 150);
  return `${clean || 'download'}.${extension}`;
}
