import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { locateProgram } from '@nexstream/core/node';
import { execa } from 'execa';
import {
  defaultAllowedContainers,
  isAllowedContainer,
  mediaInputArguments,
  refusedContainerReason,
  resolveAllowedContainers,
} from './media-input.js';
import type { MediaProbe } from './playlist.js';

/**
 * Reads what a media file holds and whether it can be played. Kept small so tests and hosts can swap it
 * (for example for a probe service) without touching ingest.
 */
export interface Prober {
  /**
   * Probes `path`.
   *
   * @throws NexStreamError `NXS_UNSUPPORTED_MEDIA` when the file is not playable video, with
   *   `details: { reason, explanation }` (see {@link UnsupportedMediaReason}; `explanation` is a plain
   *   sentence without paths, shown to the uploader after the file's name); `NXS_DEPENDENCY_MISSING` when
   *   ffprobe/ffmpeg are missing.
   */
  probe(path: string, options?: { signal?: AbortSignal }): Promise<MediaProbe>;
}

/** Options for {@link createFfprobeProber}. */
export interface FfprobeProberOptions {
  /** ffprobe path (else `NEXSTREAM_FFPROBE`, else PATH). */
  ffprobePath?: string;
  /** ffmpeg path for the verification pass (else `NEXSTREAM_FFMPEG`, else PATH). */
  ffmpegPath?: string;
  /**
   * Also read every packet once with `ffmpeg -xerror -c copy` and decode the first video frame, which
   * catches truncated files and garbage after a valid header (ffprobe alone accepts both). Default true.
   */
  verify?: boolean;
  /** Deadline for each program run, in milliseconds. Default 60 000. */
  timeoutMs?: number;
  /**
   * The demuxers a file may use (ffprobe `format_name` parts). Default {@link defaultAllowedContainers};
   * playlist and manifest demuxers (`hls`, `concat`, `dash`…) are refused even when listed.
   */
  allowedContainers?: readonly string[];
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  channels?: number;
  sample_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
}

/**
 * Why an upload is not playable, as `details.reason` of an `NXS_UNSUPPORTED_MEDIA` error: stable words to
 * match on. `empty`: 0 bytes. `container-not-allowed`: a format outside the allow-list (a playlist, an
 * image, an audio-only format…; `details.container` names it). `unrecognized`: no demuxer could read it
 * (not media, or cut off before its index). `no-video`: no video stream. `no-duration`: no usable length.
 * `damaged`: reading every packet failed (truncated or corrupt). `undecodable`: its first video frame
 * cannot be decoded. `normalize-failed`: copy playout could not convert it.
 */
export type UnsupportedMediaReason =
  | 'empty'
  | 'container-not-allowed'
  | 'unrecognized'
  | 'no-video'
  | 'no-duration'
  | 'damaged'
  | 'undecodable'
  | 'normalize-failed';

/**
 * A {@link Prober} on the real ffprobe, run directly with execa (argument array, JSON output). fluent-ffmpeg's
 * `ffprobe()` would do the same through a global binary path and an archived package; one execa call is
 * simpler to bound with a deadline and an `AbortSignal`.
 *
 * Every run reads the file with `-protocol_whitelist file -format_whitelist <allowed>` (see
 * {@link mediaInputArguments}), so a playlist cannot make ffprobe or ffmpeg open other files or URLs, and
 * the `format_name` found is checked against the allow-list again. Errors carry a plain reason in the
 * message (`not playable media: it is an HLS playlist, not a media file`), a stable `details.reason`
 * ({@link UnsupportedMediaReason}) and the programs' stderr only in `cause`.
 */
export function createFfprobeProber(options: FfprobeProberOptions = {}): Prober {
  const timeout = options.timeoutMs ?? 60_000;
  const containers = resolveAllowedContainers(options.allowedContainers);
  return {
    async probe(path, probeOptions = {}) {
      const ffprobe = await locateProgram('ffprobe', { path: options.ffprobePath });
      const result = await execa(ffprobe.path, probeArguments(path, containers), {
        reject: false,
        timeout,
        cancelSignal: probeOptions.signal,
        stdin: 'ignore',
      });
      if (probeOptions.signal?.aborted) {
        throw new NexStreamError(NexStreamErrorCode.Aborted, 'probe aborted');
      }
      if (result.timedOut) throw timedOut('ffprobe', timeout);
      const stderr = String(result.stderr);
      if (result.exitCode !== 0) {
        const refused = /\[([^\s@\]]+) @ [^\]]*\] Format not on whitelist/.exec(stderr)?.[1];
        if (refused) {
          throw unsupportedMedia('container-not-allowed', refusedContainerReason(refused), {
            stderr,
            container: refused,
          });
        }
        throw unsupportedMedia(
          'unrecognized',
          'it is not a video in a format this server reads, or it is damaged or truncated',
          { stderr },
        );
      }
      const parsed = JSON.parse(String(result.stdout)) as {
        format?: { format_name?: string; duration?: string };
        streams?: FfprobeStream[];
      };
      const container = parsed.format?.format_name ?? 'unknown';
      if (!isAllowedContainer(container, containers)) {
        throw unsupportedMedia('container-not-allowed', refusedContainerReason(container), { container });
      }
      const streams = parsed.streams ?? [];
      const video = streams.find(
        (stream) => stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1,
      );
      if (!video?.codec_name || !video.width || !video.height) {
        throw unsupportedMedia('no-video', 'it has no video stream (an audio file or a picture?)');
      }
      const audio = streams.find((stream) => stream.codec_type === 'audio');
      const durationS = Number(parsed.format?.duration ?? video.duration ?? Number.NaN);
      if (!Number.isFinite(durationS) || durationS <= 0.1) {
        throw unsupportedMedia(
          'no-duration',
          'it has no usable duration (a still image or an empty stream?)',
        );
      }
      const probe: MediaProbe = {
        container,
        durationMs: Math.round(durationS * 1000),
        videoCodec: video.codec_name,
        width: video.width,
        height: video.height,
        fps: parseRate(video.avg_frame_rate) || parseRate(video.r_frame_rate) || 0,
        audioChannels: audio?.channels ?? 0,
        audioSampleRateHz: Number(audio?.sample_rate ?? 0) || 0,
      };
      if (audio?.codec_name) probe.audioCodec = audio.codec_name;
      if (options.verify !== false) {
        await verify(path, options.ffmpegPath, timeout, probeOptions.signal, containers);
      }
      return probe;
    },
  };
}

/** ffprobe arguments for an upload: JSON format and streams, read with {@link mediaInputArguments}. */
export function probeArguments(
  path: string,
  containers: readonly string[] = defaultAllowedContainers,
): string[] {
  return [
    '-v',
    'error',
    ...mediaInputArguments(containers),
    '-print_format',
    'json',
    '-show_format',
    '-show_streams',
    path,
  ];
}

/**
 * ffmpeg arguments of the two verification passes, each reading the file with {@link mediaInputArguments}:
 * `demux` reads every packet (`-xerror -c copy`), `decode` decodes the first video frame.
 */
export function verificationArguments(
  path: string,
  containers: readonly string[] = defaultAllowedContainers,
): { demux: string[]; decode: string[] } {
  const input = ['-hide_banner', '-nostdin', '-v', 'error'];
  return {
    demux: [
      ...input,
      '-xerror',
      ...mediaInputArguments(containers),
      '-i',
      path,
      '-map',
      '0',
      '-c',
      'copy',
      '-f',
      'null',
      '-',
    ],
    decode: [
      ...input,
      ...mediaInputArguments(containers),
      '-i',
      path,
      '-map',
      '0:v:0',
      '-frames:v',
      '1',
      '-f',
      'null',
      '-',
    ],
  };
}

async function verify(
  path: string,
  ffmpegPath: string | undefined,
  timeout: number,
  signal: AbortSignal | undefined,
  containers: readonly string[],
): Promise<void> {
  const ffmpeg = await locateProgram('ffmpeg', { path: ffmpegPath });
  const common = { reject: false, timeout, cancelSignal: signal, stdin: 'ignore' } as const;
  const passes = verificationArguments(path, containers);
  const demux = await execa(ffmpeg.path, passes.demux, common);
  if (signal?.aborted) throw new NexStreamError(NexStreamErrorCode.Aborted, 'probe aborted');
  if (demux.timedOut) throw timedOut('ffmpeg', timeout);
  if (demux.exitCode !== 0) {
    throw unsupportedMedia('damaged', 'the file is damaged or truncated', { stderr: String(demux.stderr) });
  }
  const decode = await execa(ffmpeg.path, passes.decode, common);
  if (signal?.aborted) throw new NexStreamError(NexStreamErrorCode.Aborted, 'probe aborted');
  if (decode.timedOut) throw timedOut('ffmpeg', timeout);
  if (decode.exitCode !== 0) {
    throw unsupportedMedia(
      'undecodable',
      'its video cannot be decoded (damaged, or a codec this server lacks)',
      {
        stderr: String(decode.stderr),
      },
    );
  }
}

/**
 * An `NXS_UNSUPPORTED_MEDIA` error whose message is `not playable media: <explanation>`. `details` holds the
 * stable `reason`, the plain `explanation` (upload layers put it after the user's file name) and, for a
 * refused format, `container`. A program's stderr goes into `cause` only: it names temp files and is for
 * logs, never for clients.
 */
export function unsupportedMedia(
  reason: UnsupportedMediaReason,
  explanation: string,
  extra: { stderr?: string; container?: string } = {},
): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.UnsupportedMedia, `not playable media: ${explanation}`, {
    retryable: false,
    details: {
      reason,
      explanation,
      ...(extra.container ? { container: extra.container.slice(0, 64) } : {}),
    },
    ...(extra.stderr ? { cause: new Error(extra.stderr.trim().slice(-4000)) } : {}),
  });
}

function timedOut(program: string, timeoutMs: number): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.Timeout,
    `checking the file took longer than ${Math.round(timeoutMs / 1000)} s (${program})`,
    { details: { reason: 'probe-timeout', timeoutMs } },
  );
}

/** Parses an ffprobe rate such as `30000/1001` or `25/1` to frames per second (0 when unknown). */
export function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [numerator, denominator = '1'] = rate.split('/');
  const value = Number(numerator) / Number(denominator);
  return Number.isFinite(value) && value > 0 ? Math.round(value * 1000) / 1000 : 0;
}
