import {
  type AudioCodecFamily,
  audioCodecFamily,
  containerCodecs,
  type MediaEvent,
  type VideoCodecFamily,
  videoCodecFamily,
} from '@nexstream/core';

/** The media as the page gets it (a `media` event: formats without their origin URLs). */
export type PageMedia = MediaEvent['media'];
/** One format of {@link PageMedia}. */
export type PageFormat = PageMedia['formats'][number];

import { formatBytes } from './api';

/** What the person wants: the picture and the sound, or the sound only. */
export type DownloadKind = 'video' | 'audio';

/** A file type offered on the download panel. */
export type FileType = 'mp4' | 'mkv' | 'webm' | 'm4a' | 'mp3';

/** One file type as the panel offers it: available or not, and why not in plain words. */
export interface FileTypeOption {
  value: FileType;
  label: string;
  available: boolean;
  /** Why this source cannot give that type (shown next to the choice). */
  why?: string;
}

/** What each file type can hold: `planDelivery`'s own table, from @nexstream/core. */
const holds: Record<
  FileType,
  { readonly video: readonly VideoCodecFamily[]; readonly audio: readonly AudioCodecFamily[] }
> = containerCodecs;

const familyNames: Record<string, string> = {
  h264: 'H.264',
  vp9: 'VP9',
  vp8: 'VP8',
  av1: 'AV1',
  hevc: 'HEVC',
  aac: 'AAC',
  opus: 'Opus',
  vorbis: 'Vorbis',
  mp3: 'MP3',
  other: 'another format',
};

const labels: Record<FileType, string> = {
  mp4: 'MP4 — plays everywhere',
  mkv: 'MKV',
  webm: 'WebM',
  m4a: 'M4A — original sound',
  mp3: 'MP3 — converted',
};

/** The video-only formats of a media (YouTube's split streams). */
export function videoFormats(media: PageMedia): PageFormat[] {
  return media.formats.filter((format) => format.videoCodec && !format.audioCodec);
}

/** The formats that carry sound (audio-only first). */
export function audioFormats(media: PageMedia): PageFormat[] {
  return media.formats.filter((format) => format.audioCodec && !format.videoCodec);
}

function list(names: string[], joiner: 'and' | 'or' = 'and'): string {
  const unique = [...new Set(names)];
  if (unique.length <= 1) return unique[0] ?? '';
  return `${unique.slice(0, -1).join(', ')} ${joiner} ${unique.at(-1)}`;
}

/** The video formats a file type can hold (any, for a type that holds no video). */
export function videoFormatsFor(media: PageMedia, type: FileType): PageFormat[] {
  return videoFormats(media).filter((format) =>
    holds[type].video.includes(videoCodecFamily(format.videoCodec)),
  );
}

/**
 * The file types for `kind`, each marked available when this source has formats the type can hold, with the
 * reason in plain words when not (a WebM needs VP9/AV1 video and Opus sound; an H.264 source has neither).
 */
export function fileTypeOptions(media: PageMedia, kind: DownloadKind): FileTypeOption[] {
  const videos = media.formats.filter((format) => format.videoCodec);
  const audios = media.formats.filter((format) => format.audioCodec);
  const types: FileType[] = kind === 'video' ? ['mp4', 'mkv', 'webm'] : ['m4a', 'mp3'];
  return types.map((value) => {
    const can = holds[value];
    const option = { value, label: labels[value] };
    if (audios.length === 0) return { ...option, available: false, why: 'this video has no sound' };
    const audioOk = audios.some((format) => can.audio.includes(audioCodecFamily(format.audioCodec)));
    if (kind === 'audio') {
      if (audioOk) return { ...option, available: true };
      const have = list(
        audios.map((format) => familyNames[audioCodecFamily(format.audioCodec)] ?? 'another format'),
      );
      return {
        ...option,
        available: false,
        why: `${value.toUpperCase()} needs AAC sound; this track’s sound is ${have}`,
      };
    }
    if (videos.length === 0) return { ...option, available: false, why: 'this source has no picture' };
    const videoOk = videos.some((format) => can.video.includes(videoCodecFamily(format.videoCodec)));
    if (videoOk && audioOk) return { ...option, available: true };
    const name = value === 'webm' ? 'WebM' : value.toUpperCase();
    const needs = list(
      can.video.filter((family) => family !== 'other').map((family) => familyNames[family] ?? family),
      'or',
    );
    const needsSound = list(
      can.audio.filter((family) => family !== 'other').map((family) => familyNames[family] ?? family),
      'or',
    );
    const haveVideo = list(
      videos.map((format) => familyNames[videoCodecFamily(format.videoCodec)] ?? 'another format'),
    );
    const haveSound = list(
      audios.map((format) => familyNames[audioCodecFamily(format.audioCodec)] ?? 'another format'),
    );
    const why = !videoOk
      ? `${name} needs ${needs} video; this video is only available as ${haveVideo}`
      : `${name} needs ${needsSound} sound; this video’s sound is ${haveSound}`;
    return { ...option, available: false, why };
  });
}

/** A quality for people: `720p · 1.6 MB` or `128 kbit/s · 98 kB` (no format ids, no codec strings). */
export function qualityLabel(format: PageFormat, durationMs: number | undefined): string {
  const parts: string[] = [];
  if (format.videoCodec && format.height) parts.push(`${format.height}p`);
  else if (format.bitrateBps) parts.push(`${Math.round(format.bitrateBps / 1000)} kbit/s`);
  const size =
    format.sizeBytes ??
    format.sizeBytesEstimate ??
    (format.bitrateBps && durationMs ? Math.round((format.bitrateBps / 8) * (durationMs / 1000)) : undefined);
  if (size) parts.push(formatBytes(size));
  return parts.join(' · ') || 'standard';
}

/** The codecs of a format for the Details view (`avc1.64001e · 640×360 · 30 fps`). */
export function technicalLabel(format: PageFormat): string {
  const parts = [`format ${format.id}`, format.container];
  if (format.videoCodec) parts.push(format.videoCodec);
  if (format.audioCodec) parts.push(format.audioCodec);
  if (format.width && format.height) parts.push(`${format.width}×${format.height}`);
  if (format.fps) parts.push(`${format.fps} fps`);
  if (format.bitrateBps) parts.push(`${Math.round(format.bitrateBps / 1000)} kbit/s`);
  return parts.join(' · ');
}
