import { NexStreamError, NexStreamErrorCode } from './errors.js';
import { formatSizeBytes, type PublicMedia, type PublicMediaFormat } from './types.js';

/**
 * Where a download is assembled: `edge` (the browser muxes the separate video and audio streams with
 * libav.js), `server` (native ffmpeg muxes or transcodes and streams the result) or `direct` (one
 * format already is the file asked for; the tunnel serves it as is).
 */
export type DeliveryRoute = 'edge' | 'server' | 'direct';

/** Why {@link planDelivery} chose its route. Stable strings to log, count and test on. */
export type DeliveryReason =
  /** `direct`: one progressive (video + audio) format in the container asked for. */
  | 'progressive-format'
  /** `direct`: an audio-only format already in the container asked for. */
  | 'single-format'
  /** `edge`: under the size threshold, the client can mux and save, and the edge muxer handles the pair. */
  | 'edge-capable'
  /** `server`: the output needs a transcode (MP3), which the edge muxer does not do. */
  | 'transcode-needed'
  /**
   * `server`: audio only, but the media has no audio-only format, only progressive (video + audio) ones:
   * ffmpeg extracts the audio track (and transcodes it for MP3), which the edge muxer does not do.
   */
  | 'audio-from-progressive'
  /** `server`: the edge muxer cannot put these codecs in this container (VP9 never goes into MP4 at the edge). */
  | 'unsupported-pair'
  /** `server`: the client has no dedicated Worker to run the muxer in. */
  | 'client-cannot-mux'
  /** `server`: the client has no way to save a streamed file. */
  | 'no-save-path'
  /** `server`: no size is known for at least one of the formats. */
  | 'size-unknown'
  /** `server`: the estimate is at or over the edge threshold. */
  | 'over-threshold';

/** How the browser can save a file it builds, best first (see the edge-muxer README). */
export type DeliverySaveTarget = 'file-system-access' | 'service-worker' | 'opfs' | 'blob' | 'none';

/** What the client can do, as it reported it (feature detection in the browser). */
export interface DeliveryClient {
  /** The client can start a dedicated Worker (libav.js runs in one). */
  worker: boolean;
  /** How it can save a streamed file; `none` when it cannot (the server then muxes). */
  saveTarget: DeliverySaveTarget;
}

/** Output containers a delivery can produce. */
export type DeliveryContainer = 'mp4' | 'mkv' | 'webm' | 'm4a' | 'mp3' | 'opus' | 'ogg';

/** Options for {@link planDelivery}: what was asked for, and the edge threshold. */
export interface PlanDeliveryOptions {
  /**
   * The container asked for. Default: the natural one for the chosen codecs (H.264 → `mp4`, VP9 → `webm`,
   * anything else → `mkv`; audio-only: the audio format's own container).
   */
  container?: DeliveryContainer;
  /** Audio only (no video). Default: true when `container` is an audio container (`m4a`, `mp3`, `opus`, `ogg`). */
  audioOnly?: boolean;
  /** The video format to use. Default `media.preferred.videoFormatId`, else the tallest, highest-bitrate one. */
  videoFormatId?: string;
  /**
   * The audio format to use. Default `media.preferred.audioFormatId`, else the highest-bitrate audio-only one;
   * for audio only with no audio-only format, the best progressive one (the server extracts its audio).
   */
  audioFormatId?: string;
  /** Estimates at or over this many bytes go to the server. Default 400 MB (400 × 10⁶ bytes). */
  edgeThresholdBytes?: number;
}

/** The outcome of {@link planDelivery}. */
export interface DeliveryPlan {
  route: DeliveryRoute;
  reason: DeliveryReason;
  /** The reason in words, for logs. */
  message: string;
  /** The container the delivered file has. */
  container: DeliveryContainer;
  /** The video format to fetch (absent for audio-only). For `direct` with a progressive format: that format. */
  video?: PublicMediaFormat;
  /**
   * The audio format to fetch. For `direct` with a progressive format: absent. For `audio-from-progressive`:
   * the progressive format whose audio track the server extracts (it has video too).
   */
  audio?: PublicMediaFormat;
  /** Estimated bytes to transfer (video + audio), when known. */
  estimatedBytes?: number;
}

/** The default edge threshold: 400 MB. */
export const defaultEdgeThresholdBytes = 400_000_000;

/** A video codec family, as {@link videoCodecFamily} names it. */
export type VideoCodecFamily = 'h264' | 'vp9' | 'vp8' | 'av1' | 'hevc' | 'other';
/** An audio codec family, as {@link audioCodecFamily} names it. */
export type AudioCodecFamily = 'aac' | 'opus' | 'vorbis' | 'mp3' | 'other';
type VideoCodec = VideoCodecFamily;
type AudioCodec = AudioCodecFamily;

const audioContainers: ReadonlySet<DeliveryContainer> = new Set(['m4a', 'mp3', 'opus', 'ogg']);

/** Codec pairs the edge muxer (libav.js) stream-copies, per container: measured in reference/edge-muxing.md. */
const edgePairs: Readonly<
  Record<DeliveryContainer, ReadonlyArray<readonly [VideoCodec | 'none', AudioCodec]>>
> = {
  mp4: [
    ['h264', 'aac'],
    ['h264', 'opus'],
  ],
  mkv: [
    ['h264', 'aac'],
    ['h264', 'opus'],
    ['vp9', 'opus'],
    ['vp9', 'aac'],
  ],
  webm: [
    ['vp9', 'opus'],
    ['vp8', 'opus'],
    ['vp8', 'vorbis'],
    ['vp9', 'vorbis'],
    ['none', 'opus'],
  ],
  m4a: [['none', 'aac']],
  opus: [['none', 'opus']],
  ogg: [
    ['none', 'opus'],
    ['none', 'vorbis'],
  ],
  mp3: [],
};

/**
 * What each container can hold at all (for a stream copy, anywhere): the table {@link planDelivery} checks a
 * requested container against, for pages that offer only the file types a source can give.
 */
export const containerCodecs: Readonly<
  Record<
    DeliveryContainer,
    { readonly video: readonly VideoCodecFamily[]; readonly audio: readonly AudioCodecFamily[] }
  >
> = {
  mp4: { video: ['h264', 'hevc', 'vp9', 'av1'], audio: ['aac', 'opus', 'mp3'] },
  mkv: {
    video: ['h264', 'hevc', 'vp9', 'vp8', 'av1', 'other'],
    audio: ['aac', 'opus', 'vorbis', 'mp3', 'other'],
  },
  webm: { video: ['vp9', 'vp8', 'av1'], audio: ['opus', 'vorbis'] },
  m4a: { video: [], audio: ['aac'] },
  opus: { video: [], audio: ['opus'] },
  ogg: { video: [], audio: ['opus', 'vorbis'] },
  mp3: { video: [], audio: ['aac', 'opus', 'vorbis', 'mp3', 'other'] },
};

/**
 * Decides where a download is assembled. Pure: no I/O, no clock.
 *
 * - `direct` when one format already is what was asked for: a progressive (video + audio) format, or for
 *   audio only an audio format in the asked container.
 * - `server` with `audio-from-progressive` for audio only from media that has no audio-only format but a
 *   progressive one (or when the audio format named is progressive): ffmpeg keeps only its audio track.
 * - `edge` when the size estimate (video + audio: `sizeBytes`, else `sizeBytesEstimate`, else bitrate ×
 *   duration, see {@link formatSizeBytes}) is under `edgeThresholdBytes`, the client has a Worker and a save
 *   path, and the edge muxer handles the codec pair in the container (VP9 never goes into MP4 there).
 * - `server` otherwise (transcodes such as MP3 always), with the first reason that ruled out the edge.
 *
 * @throws NexStreamError `NXS_NOT_FOUND` when a named format id is not in `media.formats` or there is no
 *   usable format; `NXS_INVALID_INPUT` when the asked container cannot hold the chosen codecs at all
 *   (H.264 or AAC in WebM, video in an audio container).
 */
export function planDelivery(
  media: PublicMedia,
  client: DeliveryClient,
  options: PlanDeliveryOptions = {},
): DeliveryPlan {
  const threshold = options.edgeThresholdBytes ?? defaultEdgeThresholdBytes;
  const audioOnly =
    options.audioOnly ?? (options.container !== undefined && audioContainers.has(options.container));
  if (!audioOnly && options.container && audioContainers.has(options.container)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `a ${options.container} file cannot hold video: ask for audioOnly or a video container`,
    );
  }
  const audio = pickAudio(media, options.audioFormatId, audioOnly);

  if (audioOnly) {
    if (!audio) throw notFound(media, 'no format with audio');
    const container = options.container ?? naturalAudioContainer(audio);
    const size = formatSizeBytes(audio, media.durationMs);
    const base = { container, audio, ...(size === undefined ? {} : { estimatedBytes: size }) };
    const audioCodec = audioCodecFamily(audio.audioCodec);
    if (!containerCodecs[container].audio.includes(audioCodec)) {
      throw invalidPair(container, `${audio.audioCodec ?? 'unknown'} audio`);
    }
    if (audio.videoCodec) {
      return {
        route: 'server',
        reason: 'audio-from-progressive',
        message:
          `${media.id} has no audio-only format: the server extracts the ${audio.audioCodec} audio of ` +
          `progressive format ${audio.id}${container === 'mp3' && audioCodec !== 'mp3' ? ' and transcodes it to MP3' : ` into ${container}`}`,
        ...base,
      };
    }
    if (!audio.videoCodec && sameContainer(audio.container, container) && container !== 'mp3') {
      return {
        route: 'direct',
        reason: 'single-format',
        message: `format ${audio.id} already is a ${container} file`,
        ...base,
      };
    }
    if (container === 'mp3' && audioCodec !== 'mp3') {
      return {
        route: 'server',
        reason: 'transcode-needed',
        message: `${audio.audioCodec} to MP3 needs a transcode`,
        ...base,
      };
    }
    return chooseMuxer(client, threshold, base, [['none', audioCodec]], size, media);
  }

  const video = pickVideo(media, options.videoFormatId);
  if (!video) throw notFound(media, 'no video format');
  const videoCodec = videoCodecFamily(video.videoCodec);
  const container = options.container ?? naturalVideoContainer(videoCodec);
  if (video.audioCodec && (options.audioFormatId === undefined || options.audioFormatId === video.id)) {
    if (sameContainer(video.container, container)) {
      const size = formatSizeBytes(video, media.durationMs);
      return {
        route: 'direct',
        reason: 'progressive-format',
        message: `format ${video.id} already has video and audio in ${container}`,
        container,
        video,
        ...(size === undefined ? {} : { estimatedBytes: size }),
      };
    }
  }
  if (!audio) throw notFound(media, 'no audio format to pair with the video');
  const audioCodec = audioCodecFamily(audio.audioCodec);
  if (!containerCodecs[container].video.includes(videoCodec)) {
    throw invalidPair(container, `${video.videoCodec ?? 'unknown'} video`);
  }
  if (!containerCodecs[container].audio.includes(audioCodec)) {
    throw invalidPair(container, `${audio.audioCodec ?? 'unknown'} audio`);
  }
  const videoSize = formatSizeBytes(video, media.durationMs);
  const audioSize = formatSizeBytes(audio, media.durationMs);
  const size = videoSize === undefined || audioSize === undefined ? undefined : videoSize + audioSize;
  const base = { container, video, audio, ...(size === undefined ? {} : { estimatedBytes: size }) };
  return chooseMuxer(client, threshold, base, [[videoCodec, audioCodec]], size, media);
}

function chooseMuxer(
  client: DeliveryClient,
  threshold: number,
  base: Omit<DeliveryPlan, 'route' | 'reason' | 'message'>,
  pairs: ReadonlyArray<readonly [VideoCodec | 'none', AudioCodec]>,
  size: number | undefined,
  media: PublicMedia,
): DeliveryPlan {
  const server = (reason: DeliveryReason, message: string): DeliveryPlan => ({
    route: 'server',
    reason,
    message,
    ...base,
  });
  const supported = pairs.every(([video, audio]) =>
    edgePairs[base.container].some(([edgeVideo, edgeAudio]) => edgeVideo === video && edgeAudio === audio),
  );
  const describe = `${base.video?.videoCodec ?? 'no video'} + ${base.audio?.audioCodec ?? 'no audio'}`;
  if (!supported) {
    return server('unsupported-pair', `the edge muxer does not put ${describe} into ${base.container}`);
  }
  if (!client.worker) return server('client-cannot-mux', 'the client cannot start a Worker to mux in');
  if (client.saveTarget === 'none')
    return server('no-save-path', 'the client has no way to save a streamed file');
  if (size === undefined) {
    return server(
      'size-unknown',
      `no size is known for ${media.id} (${describe}): cannot check the edge threshold`,
    );
  }
  if (size >= threshold) {
    return server(
      'over-threshold',
      `about ${Math.round(size / 1e6)} MB is at or over the ${Math.round(threshold / 1e6)} MB edge threshold`,
    );
  }
  return {
    route: 'edge',
    reason: 'edge-capable',
    message: `about ${Math.round(size / 1e6)} MB of ${describe} into ${base.container}, muxed in the browser`,
    ...base,
  };
}

function pickVideo(media: PublicMedia, formatId: string | undefined): PublicMediaFormat | undefined {
  const id = formatId ?? media.preferred?.videoFormatId;
  if (id !== undefined) return byId(media, id);
  const videoOnly = media.formats.filter((format) => format.videoCodec && !format.audioCodec);
  const candidates = videoOnly.length > 0 ? videoOnly : media.formats.filter((format) => format.videoCodec);
  return best(candidates, (format) => [format.height ?? 0, format.bitrateBps ?? 0]);
}

/** The audio source: the named or preferred format, else the best audio-only one, else (`orProgressive`) the best progressive one. */
function pickAudio(
  media: PublicMedia,
  formatId: string | undefined,
  orProgressive: boolean,
): PublicMediaFormat | undefined {
  const id = formatId ?? media.preferred?.audioFormatId;
  if (id !== undefined) return byId(media, id);
  const audioOnly = media.formats.filter((format) => format.audioCodec && !format.videoCodec);
  const found = best(audioOnly, (format) => [format.bitrateBps ?? 0, format.sampleRateHz ?? 0]);
  if (found || !orProgressive) return found;
  const progressive = media.formats.filter((format) => format.audioCodec && format.videoCodec);
  return best(progressive, (format) => [
    format.sampleRateHz ?? 0,
    format.bitrateBps ?? 0,
    format.height ?? 0,
  ]);
}

function byId(media: PublicMedia, id: string): PublicMediaFormat {
  const format = media.formats.find((candidate) => candidate.id === id);
  if (!format) throw notFound(media, `no format ${id}`);
  return format;
}

function best(
  formats: PublicMediaFormat[],
  key: (format: PublicMediaFormat) => number[],
): PublicMediaFormat | undefined {
  let winner: PublicMediaFormat | undefined;
  let winnerKey: number[] = [];
  for (const format of formats) {
    const candidate = key(format);
    const better = candidate.findIndex((value, index) => value !== (winnerKey[index] ?? -1));
    if (!winner || (better !== -1 && (candidate[better] ?? 0) > (winnerKey[better] ?? -1))) {
      winner = format;
      winnerKey = candidate;
    }
  }
  return winner;
}

/** The family of a video codec by its RFC 6381 / yt-dlp name (`avc1.64001e` → `h264`); `other` when unknown. */
export function videoCodecFamily(codec: string | undefined): VideoCodecFamily {
  const name = (codec ?? '').toLowerCase();
  if (/^(avc|h264)/.test(name)) return 'h264';
  if (/^(vp0?9)/.test(name)) return 'vp9';
  if (/^(vp0?8)/.test(name)) return 'vp8';
  if (/^(av01|av1)/.test(name)) return 'av1';
  if (/^(hev|hvc|hevc|h265)/.test(name)) return 'hevc';
  return 'other';
}

/** The family of an audio codec by its RFC 6381 / yt-dlp name (`mp4a.40.2` → `aac`); `other` when unknown. */
export function audioCodecFamily(codec: string | undefined): AudioCodecFamily {
  const name = (codec ?? '').toLowerCase();
  if (/^(mp3|mp4a\.6b|mp4a\.40\.34)/.test(name)) return 'mp3';
  if (/^(mp4a|aac)/.test(name)) return 'aac';
  if (name.startsWith('opus')) return 'opus';
  if (name.startsWith('vorbis')) return 'vorbis';
  return 'other';
}

function naturalVideoContainer(codec: VideoCodec): DeliveryContainer {
  if (codec === 'h264') return 'mp4';
  if (codec === 'vp9' || codec === 'vp8') return 'webm';
  return 'mkv';
}

function naturalAudioContainer(audio: PublicMediaFormat): DeliveryContainer {
  const container = String(audio.container).toLowerCase();
  if (container === 'm4a' || container === 'mp4') return 'm4a';
  if (container === 'webm' || container === 'mp3' || container === 'ogg' || container === 'opus') {
    return container;
  }
  return audioCodecFamily(audio.audioCodec) === 'aac' ? 'm4a' : 'ogg';
}

function sameContainer(formatContainer: string, wanted: DeliveryContainer): boolean {
  const have = formatContainer.toLowerCase();
  if (have === wanted) return true;
  return (have === 'm4a' && wanted === 'mp4') || (have === 'mp4' && wanted === 'm4a');
}

function notFound(media: PublicMedia, what: string): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.NotFound, `cannot plan a delivery of ${media.id}: ${what}`);
}

function invalidPair(container: DeliveryContainer, what: string): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.InvalidInput,
    `a ${container} file cannot hold ${what}: ask for another container (mkv holds almost anything)`,
  );
}
