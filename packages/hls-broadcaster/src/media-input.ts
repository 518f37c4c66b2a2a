import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/**
 * The ffmpeg demuxers (ffprobe `format_name` parts) an upload may use: real single-file media containers.
 * MP4/MOV (`mov,mp4,m4a,3gp,3g2,mj2` is one demuxer), Matroska/WebM, MPEG-TS, AVI, FLV and MPEG-PS.
 *
 * Everything else is refused, above all the formats that make ffmpeg open *other* files or URLs named
 * inside the upload (`hls`, `concat`, `dash`, `imf`…): a text playlist renamed `x.mp4` would otherwise
 * broadcast local files to every viewer. The same list is given to every ffmpeg/ffprobe run on a stored
 * file as `-format_whitelist`, so a file stored by an older version cannot do it either.
 */
export const defaultAllowedContainers: readonly string[] = Object.freeze([
  'mov',
  'mp4',
  'm4a',
  '3gp',
  '3g2',
  'mj2',
  'matroska',
  'webm',
  'mpegts',
  'avi',
  'flv',
  'mpeg',
]);

/**
 * Demuxers that are never accepted in an allow-list, even when configured: they read other files or URLs
 * named in the input (playlists, manifests, compositions), generate media, or read file-name patterns.
 */
const indirectFormats = new Set([
  'hls',
  'applehttp',
  'concat',
  'dash',
  'imf',
  'lavfi',
  'sdp',
  'rtsp',
  'rtp',
  'image2',
  'tty',
]);

/**
 * Checks a configured allow-list of demuxer names.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` for an empty list, a name that is not a plain demuxer name, or a
 *   demuxer that opens other files or URLs (`hls`, `concat`, `dash`, `imf`, `lavfi`, `image2`…).
 */
export function resolveAllowedContainers(containers: readonly string[] | undefined): readonly string[] {
  if (containers === undefined) return defaultAllowedContainers;
  if (containers.length === 0) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      'allowedContainers must name at least one demuxer',
    );
  }
  for (const name of containers) {
    if (!/^[a-z0-9_]{1,32}$/.test(name)) {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        `allowedContainers: ${JSON.stringify(String(name).slice(0, 40))} is not an ffmpeg demuxer name`,
      );
    }
    if (indirectFormats.has(name)) {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        `allowedContainers: "${name}" opens other files or URLs named in the input and cannot be allowed`,
      );
    }
  }
  return Object.freeze([...containers]);
}

/**
 * ffmpeg/ffprobe input options for a stored media file: read local files only (`-protocol_whitelist file`,
 * so no URL and no `pipe:`/`concat:`/`subfile:` trick) and only with the allowed demuxers
 * (`-format_whitelist`, inherited by nested opens). Put them right before that file's `-i`; they apply
 * to that input only, never to `lavfi` inputs or outputs.
 */
export function mediaInputArguments(containers: readonly string[] = defaultAllowedContainers): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', containers.join(',')];
}

/** True when an ffprobe `format_name` (a comma-separated list of demuxer names) names an allowed demuxer. */
export function isAllowedContainer(
  formatName: string,
  containers: readonly string[] = defaultAllowedContainers,
): boolean {
  return formatName.split(',').some((name) => containers.includes(name.trim()));
}

const audioFormats = new Set([
  'mp3',
  'aac',
  'wav',
  'flac',
  'ogg',
  'opus',
  'ac3',
  'eac3',
  'aiff',
  'amr',
  'ape',
  'wv',
  'w64',
  'caf',
  'au',
  'tta',
  'dts',
  'truehd',
  'mlp',
]);

/**
 * Why a container was refused, in plain words for the uploader: `it is an HLS playlist, not a media file`,
 * `it is a text file, not a media file`, `it is an audio file, not a video`, or `it is in the "x" format,
 * which this server does not accept`.
 */
export function refusedContainerReason(formatName: string): string {
  const name = formatName.split(',')[0]?.trim() ?? '';
  const notMedia = (what: string) => `it is ${what}, not a media file`;
  if (name === 'hls' || name === 'applehttp') return notMedia('an HLS playlist');
  if (name === 'concat') return notMedia('an ffconcat playlist');
  if (name === 'dash') return notMedia('a DASH manifest');
  if (name === 'imf') return notMedia('an IMF composition playlist');
  if (name === 'sdp' || name === 'rtsp' || name === 'rtp') return notMedia('a network stream description');
  if (['tty', 'srt', 'webvtt', 'ass', 'subviewer', 'microdvd', 'ffmetadata'].includes(name)) {
    return notMedia('a text file');
  }
  if (name.startsWith('image2') || name.endsWith('_pipe') || name === 'gif' || name === 'webp') {
    return 'it is an image, not a video';
  }
  if (audioFormats.has(name)) return 'it is an audio file, not a video';
  const shown = name.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32) || 'unknown';
  return `it is in the "${shown}" format, which this server does not accept`;
}
