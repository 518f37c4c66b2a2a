import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { locateProgram } from '@nexstream/core/node';
import { execa } from 'execa';
import type { MediaProbe } from './playlist.js';

/**
 * Reads what a media file holds and whether it can be played. Kept small so tests and hosts can swap it
 * (for example for a probe service) without touching ingest.
 */
export interface Prober {
  /**
   * Probes `path`.
   *
   * @throws NexStreamError `NXS_UNSUPPORTED_MEDIA` with the probe's reason when the file is not playable
   *   video; `NXS_DEPENDENCY_MISSING` when ffprobe/ffmpeg are missing.
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
 * A {@link Prober} on the real ffprobe, run directly with execa (argument array, JSON output). fluent-ffmpeg's
 * `ffprobe()` would do the same through a global binary path and an archived package; one execa call is
 * simpler to bound with a deadline and an `AbortSignal`.
 */
export function createFfprobeProber(options: FfprobeProberOptions = {}): Prober {
  const timeout = options.timeoutMs ?? 60_000;
  return {
    async probe(path, probeOptions = {}) {
      const ffprobe = await locateProgram('ffprobe', { path: options.ffprobePath });
      const result = await execa(
        ffprobe.path,
        ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path],
        { reject: false, timeout, cancelSignal: probeOptions.signal, stdin: 'ignore' },
      );
      if (probeOptions.signal?.aborted) {
        throw new NexStreamError(NexStreamErrorCode.Aborted, 'probe aborted');
      }
      if (result.exitCode !== 0) {
        throw unsupported(lastLines(String(result.stderr)) || `ffprobe exited with ${result.exitCode}`);
      }
      const parsed = JSON.parse(String(result.stdout)) as {
        format?: { format_name?: string; duration?: string };
        streams?: FfprobeStream[];
      };
      const streams = parsed.streams ?? [];
      const video = streams.find(
        (stream) => stream.codec_type === 'video' && stream.disposition?.attached_pic !== 1,
      );
      if (!video?.codec_name || !video.width || !video.height) {
        throw unsupported('no video stream (an audio file or an image?)');
      }
      const audio = streams.find((stream) => stream.codec_type === 'audio');
      const durationS = Number(parsed.format?.duration ?? video.duration ?? Number.NaN);
      if (!Number.isFinite(durationS) || durationS <= 0.1) {
        throw unsupported('no usable duration (a still image or an empty stream?)');
      }
      const probe: MediaProbe = {
        container: parsed.format?.format_name ?? 'unknown',
        durationMs: Math.round(durationS * 1000),
        videoCodec: video.codec_name,
        width: video.width,
        height: video.height,
        fps: parseRate(video.avg_frame_rate) || parseRate(video.r_frame_rate) || 0,
        audioChannels: audio?.channels ?? 0,
        audioSampleRateHz: Number(audio?.sample_rate ?? 0) || 0,
      };
      if (audio?.codec_name) probe.audioCodec = audio.codec_name;
      if (options.verify !== false) await verify(path, options.ffmpegPath, timeout, probeOptions.signal);
      return probe;
    },
  };
}

async function verify(
  path: string,
  ffmpegPath: string | undefined,
  timeout: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const ffmpeg = await locateProgram('ffmpeg', { path: ffmpegPath });
  const common = { reject: false, timeout, cancelSignal: signal, stdin: 'ignore' } as const;
  const demux = await execa(
    ffmpeg.path,
    [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-xerror',
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
    common,
  );
  if (demux.exitCode !== 0) {
    throw unsupported(
      `the file is damaged or truncated: ${lastLines(String(demux.stderr)) || 'demux failed'}`,
    );
  }
  const decode = await execa(
    ffmpeg.path,
    [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
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
    common,
  );
  if (decode.exitCode !== 0) {
    throw unsupported(`the video cannot be decoded: ${lastLines(String(decode.stderr)) || 'decode failed'}`);
  }
}

function unsupported(reason: string): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.UnsupportedMedia, `not playable media: ${reason}`, {
    retryable: false,
    details: { reason },
  });
}

function lastLines(text: string, count = 3): string {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-count)
    .join('; ')
    .replace(/\/[^\s:]*\//g, '');
}

/** Parses an ffprobe rate such as `30000/1001` or `25/1` to frames per second (0 when unknown). */
export function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [numerator, denominator = '1'] = rate.split('/');
  const value = Number(numerator) / Number(denominator);
  return Number.isFinite(value) && value > 0 ? Math.round(value * 1000) / 1000 : 0;
}
