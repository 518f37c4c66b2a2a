import type { MediaEvent } from '@nexstream/core';

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

type VideoFamily = 'h264' | 'vp9' | 'vp8' | 'av1' | 'hevc' | 'other';
type AudioFamily = 'aac' | 'opus' | 'vorbis' | 'mp3' | 'other';

/** Codec families by their RFC 6381 / yt-dlp names (`avc1.64001e` → `h264`). */
export function videoFamily(codec: string | undefined): VideoFamily {
  const name = (codec ?? '').toLowerCase();
  if (/^(avc|h264)/.test(name)) return 'h264';
  if (/^vp0?9/.test(name)) return 'vp9';
  if (/^vp0?8/.test(name)) return 'vp8';
  if (/^(av01|av1)/.test(name)) return 'av1';
  if (/^(hev|hvc|h265)/.test(name)) return 'hevc';
  return 'other';
}

export function audioFamily(codec: string | undefined): AudioFamily {
  const name = (codec ?? '').toLowerCase();
  if (/^(mp3|mp4a\.6b|mp4a\.40\.34)/.test(name)) return 'mp3';
  if (/^(mp4a|aac)/.test(name)) return 'aac';
  if (name.startsWith('opus')) return 'opus';
  if (name.startsWith('vorbis')) return 'vorbis';
  return 'other';
}

/** What each file type can hold (the same table as `planDelivery` in @nexstream/core). */
const holds: Record<FileType, { video: VideoFamily[]; audio: AudioFamily[] }> = {
  mp4: { video: ['h264', 'hevc', 'vp9', 'av1'], audio: ['aac', 'opus', 'mp3'] },
  mkv: {
    video: ['h264', 'hevc', 'vp9', 'vp8', 'av1', 'other'],
    audio: ['aac', 'opus', 'vorbis', 'mp3', 'other'],
  },
  webm: { video: ['vp9', 'vp8', 'av1'], audio: ['opus', 'vorbis'] },
  m4a: { video: [], audio: ['aac'] },
  // MP3 is made on the server from any sound.
  mp3: { video: [], audio: ['aac', 'opus', 'vorbis', 'mp3', 'other'] },
};

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
  return videoFormats(media).filter((format) => holds[type].video.includes(videoFamily(format.videoCodec)));
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
    const audioOk = audios.some((format) => can.audio.includes(audioFamily(format.audioCodec)));
    if (kind === 'audio') {
      if (audioOk) return { ...option, available: true };
      const have = list(
        audios.map((format) => familyNames[audioFamily(format.audioCodec)] ?? 'another format'),
      );
      return {
        ...option,
        available: false,
        why: `${value.toUpperCase()} needs AAC sound; this track’s sound is ${have}`,
      };
    }
    if (videos.length === 0) return { ...option, available: false, why: 'this source has no picture' };
    const videoOk = videos.some((format) => can.video.includes(videoFamily(format.videoCodec)));
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
      videos.map((format) => familyNames[videoFamily(format.videoCodec)] ?? 'another format'),
    );
    const haveSound = list(
      audios.map((format) => familyNames[audioFamily(format.audioCodec)] ?? 'another format'),
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
