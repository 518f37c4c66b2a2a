import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { execa } from 'execa';
import { defaultAllowedContainers, mediaInputArguments } from './media-input.js';
import { type ChannelProfile, channelAudioSampleRateHz, x264SegmentArguments } from './profile.js';

/** What a decoder plays: part of an item, or the slate. */
export type DecoderSource =
  | {
      kind: 'item';
      /** Absolute path of the stored media file. */
      path: string;
      /** Where to start in the item, in milliseconds. */
      startMs: number;
      /** How much to play from `startMs`, in milliseconds (bounds the decoder: see the reference note). */
      durationMs: number;
      /** Whether the file has an audio stream (silence is generated when it has none). */
      hasAudio: boolean;
      /** The file is already normalized to the profile (copy playout): remux it, do not decode. */
      copy?: boolean;
      /** Hold the last frame this long (milliseconds) before `-t` cuts: used to round lengths up. */
      padToMs?: number;
      /**
       * Demuxers ffmpeg may use to read `path` (`-format_whitelist`; the file is also read with
       * `-protocol_whitelist file`). Default {@link defaultAllowedContainers}; a `copy` item is always read
       * as `mpegts` only, since the normalizer wrote it.
       */
      allowedContainers?: readonly string[];
    }
  | {
      kind: 'slate';
      /** How long this slate chunk lasts, in milliseconds. */
      durationMs: number;
      /** An image to show; a generated card when absent. */
      imagePath?: string;
      /** A slate already normalized to the profile (copy playout), played by stream copy. */
      copyPath?: string;
    };

/** How a decoder ended. */
export interface DecoderExit {
  exitCode: number | undefined;
  signal: string | undefined;
  /** True when we stopped it (a cut), so a non-zero exit is not a failure. */
  stoppedByUs: boolean;
  /** The last stderr lines, for failure reports. */
  stderrTail: string;
}

/** A running decoder process writing normalized MPEG-TS to `stdout`. */
export interface Decoder {
  readonly source: DecoderSource;
  readonly pid: number | undefined;
  /** The normalized MPEG-TS stream (MPEG-2 intra video + SMPTE 302M PCM audio). */
  readonly stdout: Readable;
  /** Resolves on the process's `close` (every byte of stdout has been delivered), never rejects. */
  readonly closed: Promise<DecoderExit>;
  /** SIGTERM, then SIGKILL after 1.5 s. */
  stop(): void;
}

const cardColor = '0x15202b';

/**
 * ffmpeg arguments for a decoder: scale + pad to the profile, constant frame rate, 48 kHz stereo audio
 * (generated silence for silent videos), bounded by `-t` so generated sources always end, written as
 * MPEG-TS (MPEG-2 intra + SMPTE 302M) to stdout. A stored file is read with `-protocol_whitelist file` and
 * `-format_whitelist` (see {@link mediaInputArguments}): a playlist stored as a video can never make the
 * decoder open other files or URLs. Generated inputs (`lavfi`) and the operator's slate image are not
 * restricted by format.
 */
export function decoderArguments(source: DecoderSource, profile: ChannelProfile): string[] {
  const seconds = (ms: number) => (Math.max(ms, 40) / 1000).toFixed(3);
  const copyPath = source.kind === 'item' ? (source.copy ? source.path : undefined) : source.copyPath;
  if (copyPath) {
    return [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-v',
      'error',
      ...(source.kind === 'item' && source.startMs > 0 ? ['-ss', (source.startMs / 1000).toFixed(3)] : []),
      ...mediaInputArguments(['mpegts']),
      '-i',
      copyPath,
      '-map',
      '0:v:0',
      '-map',
      '0:a:0',
      '-t',
      seconds(source.durationMs),
      '-c',
      'copy',
      '-f',
      'mpegts',
      '-mpegts_flags',
      'initial_discontinuity',
      'pipe:1',
    ];
  }
  return [...decodeInputs(source, profile), ...intermediateOutput(seconds(source.durationMs))];
}

function decodeInputs(source: DecoderSource, profile: ChannelProfile): string[] {
  const { width, height, fps } = profile;
  const inputs: string[] = [];
  let videoChain: string;
  let audioInput: string;
  if (source.kind === 'item') {
    if (source.startMs > 0) inputs.push('-ss', (source.startMs / 1000).toFixed(3));
    inputs.push(
      ...mediaInputArguments(source.allowedContainers ?? defaultAllowedContainers),
      '-i',
      source.path,
    );
    videoChain =
      `[0:v:0]scale=w=${width}:h=${height}:force_original_aspect_ratio=decrease,` +
      `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=${fps},format=yuv420p[v]`;
    if (source.hasAudio) {
      audioInput = '[0:a:0]';
    } else {
      inputs.push('-f', 'lavfi', '-i', `anullsrc=r=${channelAudioSampleRateHz}:cl=stereo`);
      audioInput = '[1:a:0]';
    }
  } else {
    if (source.imagePath) {
      inputs.push(
        '-loop',
        '1',
        '-framerate',
        String(fps),
        '-protocol_whitelist',
        'file',
        '-i',
        source.imagePath,
      );
      videoChain =
        `[0:v:0]scale=w=${width}:h=${height}:force_original_aspect_ratio=decrease,` +
        `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,fps=${fps},format=yuv420p[v]`;
    } else {
      inputs.push('-f', 'lavfi', '-i', `color=c=${cardColor}:s=${width}x${height}:r=${fps}`);
      videoChain =
        `[0:v:0]drawbox=x=0:y=ih*0.46:w=iw:h=ih*0.08:color=0xf5a623:t=fill,` +
        `drawbox=x=iw*0.1:y=ih*0.3:w=iw*0.8:h=ih*0.4:color=0xffffff@0.4:t=4,format=yuv420p[v]`;
    }
    inputs.push('-f', 'lavfi', '-i', `anullsrc=r=${channelAudioSampleRateHz}:cl=stereo`);
    audioInput = '[1:a:0]';
  }
  const audioChain =
    `${audioInput}aresample=${channelAudioSampleRateHz},` +
    `aformat=sample_fmts=s16:channel_layouts=stereo,apad[a]`;
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-v',
    'error',
    ...inputs,
    '-filter_complex',
    `${videoChain.replace('[v]', source.kind === 'item' && source.padToMs ? `,tpad=stop_mode=clone:stop_duration=${(source.padToMs / 1000).toFixed(3)}[v]` : '[v]')};${audioChain}`,
    '-map',
    '[v]',
    '-map',
    '[a]',
  ];
}

function intermediateOutput(durationS: string): string[] {
  return [
    '-t',
    durationS,
    '-c:v',
    'mpeg2video',
    '-g',
    '1',
    '-q:v',
    '2',
    '-c:a',
    's302m',
    '-strict',
    'experimental',
    '-f',
    'mpegts',
    '-mpegts_flags',
    'initial_discontinuity',
    'pipe:1',
  ];
}

/** Starts a decoder (execa, argument array, no shell). */
export function startDecoder(ffmpegPath: string, source: DecoderSource, profile: ChannelProfile): Decoder {
  const subprocess = execa(ffmpegPath, decoderArguments(source, profile), {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cleanup: true,
    forceKillAfterDelay: 1500,
  });
  // With `buffer: false`, execa drains `subprocess.stdout` by itself (a prefetched decoder would lose its
  // output); `readable()` keeps the bytes and applies backpressure to the process instead.
  const stdout = subprocess.readable({ from: 'stdout' });
  stdout.on('error', () => undefined);
  let stoppedByUs = false;
  let stderrTail = '';
  subprocess.stderr?.setEncoding('utf8');
  subprocess.stderr?.on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-2000);
  });
  // The subprocess promise never rejects (reject: false); keep it from being reported as unhandled.
  subprocess.catch(() => undefined);
  // The underlying ChildProcess: its `close` event is the moment every stdout byte was delivered.
  const child: ChildProcess = subprocess.nodeChildProcess;
  const closed = new Promise<DecoderExit>((resolve) => {
    child.once('close', (code, signal) =>
      resolve({
        exitCode: code ?? undefined,
        signal: signal ?? undefined,
        stoppedByUs,
        stderrTail: stderrTail.trim().split('\n').slice(-3).join('; '),
      }),
    );
    child.once('error', () => undefined);
  });
  return {
    source,
    pid: subprocess.pid,
    stdout,
    closed,
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stoppedByUs = true;
      subprocess.kill('SIGTERM');
      // Unread output would keep the process blocked on a full pipe: drop it.
      stdout.resume();
    },
  };
}

/**
 * ffmpeg arguments that normalize an item once, for `copy` playout: the decoder's scale/pad/fps/audio chain,
 * then H.264 + AAC with a keyframe on every segment boundary, the length rounded up to whole segments (the
 * last frame is held), in MPEG-TS. `source` is an item (or a slate without `copyPath`).
 */
export function normalizeArguments(
  source: DecoderSource,
  profile: ChannelProfile,
  outputPath: string,
): string[] {
  const segmentMs = profile.segmentDurationS * 1000;
  const paddedMs = Math.max(segmentMs, Math.ceil(source.durationMs / segmentMs - 0.01) * segmentMs);
  const padded: DecoderSource =
    source.kind === 'item' ? { ...source, padToMs: paddedMs - source.durationMs + segmentMs } : source;
  const gop = profile.fps * profile.segmentDurationS;
  return [
    ...decodeInputs(padded, profile),
    '-t',
    (paddedMs / 1000).toFixed(3),
    '-c:v',
    'libx264',
    '-preset',
    profile.x264Preset,
    ...x264SegmentArguments(profile, gop),
    '-bf',
    '0',
    '-r',
    String(profile.fps),
    '-c:a',
    'aac',
    '-b:a',
    `${profile.audioBitrateKbps}k`,
    '-ar',
    String(channelAudioSampleRateHz),
    '-ac',
    '2',
    '-f',
    'mpegts',
    '-y',
    outputPath,
  ];
}

/**
 * Normalizes a file for `copy` playout (see {@link normalizeArguments}); resolves with the padded duration in
 * milliseconds.
 *
 * @throws NexStreamError `NXS_UNSUPPORTED_MEDIA` when ffmpeg cannot convert it.
 */
export async function normalizeForCopy(
  ffmpegPath: string,
  source: DecoderSource,
  profile: ChannelProfile,
  outputPath: string,
): Promise<number> {
  const result = await execa(ffmpegPath, normalizeArguments(source, profile, outputPath), {
    reject: false,
    stdin: 'ignore',
  });
  if (result.exitCode !== 0) {
    // The stderr names server paths: it is kept as the cause (for logs), never in the message.
    throw new NexStreamError(
      NexStreamErrorCode.UnsupportedMedia,
      'not playable media: it could not be converted for playout',
      {
        retryable: false,
        details: { reason: 'normalize-failed', explanation: 'it could not be converted for playout' },
        cause: new Error(String(result.stderr).trim().slice(-4000)),
      },
    );
  }
  const segmentMs = profile.segmentDurationS * 1000;
  return Math.max(segmentMs, Math.ceil(source.durationMs / segmentMs - 0.01) * segmentMs);
}
