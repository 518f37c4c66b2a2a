import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { execa } from 'execa';
import { type ChannelProfile, x264SegmentArguments } from './profile.js';
import type { RelayOptions } from './relay.js';

/** One `-progress` block from the encoder: the channel's health feed. */
export interface EncoderStats {
  /** Frames encoded since the encoder started. */
  frame: number;
  /** Current encoding speed in frames per second. */
  fps: number;
  /** Output bitrate in kbit/s (0 when ffmpeg does not know yet). */
  bitrateKbps: number;
  /** Media time written, in milliseconds since the encoder started. */
  outTimeMs: number;
  /** Speed relative to real time (1 = live pace). */
  speed: number;
  /** Frames duplicated to keep a constant frame rate. */
  duplicatedFrames: number;
  /** Frames dropped to keep a constant frame rate. */
  droppedFrames: number;
}

/** Options for {@link encoderArguments}. */
export interface EncoderArgumentsOptions {
  /** Folder the playlist and segments are written to. */
  hlsDirectory: string;
  /** Continue an existing playlist (after a crash): ffmpeg appends and marks one discontinuity. */
  append: boolean;
  /** Playlist file name. Default `index.m3u8`. */
  playlistName?: string;
  /**
   * Whether the relay paces the input at real time (see {@link RelayOptions.leadMs}); when false the
   * encoder paces itself with `-re`. Default false.
   */
  pacedInput?: boolean;
  /**
   * Names this encoder run in its segment file names (`seg-<runId>-<n>.ts`, `seg-<runId>_<variant>_<n>.ts`),
   * so a name is never used twice: ffmpeg numbers segments from 0 on every start and reuses numbers after a
   * crash, while caches keep a segment under its name for a year (`immutable`). Letters and digits only.
   * Default none (`seg-<n>.ts`).
   */
  runId?: string;
}

/** A new encoder run id: the time in base 36 and 16 random bits, unique across restarts and processes. */
export function createRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
}

/**
 * ffmpeg arguments for the channel's long-running encoder: MPEG-TS from stdin paced at real time (by the
 * relay, or by `-re`), with `-dts_delta_threshold 1` so a timestamp jump at a decoder switch is absorbed at once), H.264 +
 * AAC with a keyframe forced on every segment boundary, HLS with a sliding window, deleted old segments,
 * program-date-time, independent segments and temp-file writes, and a `-progress` feed on stdout.
 */
export function encoderArguments(profile: ChannelProfile, options: EncoderArgumentsOptions): string[] {
  const gop = profile.fps * profile.segmentDurationS;
  const ladder =
    profile.playout === 'copy'
      ? []
      : [
          { width: profile.width, height: profile.height, videoBitrateKbps: profile.videoBitrateKbps },
          ...profile.renditions,
        ];
  const playlistName = options.playlistName ?? 'index.m3u8';
  if (options.runId !== undefined && !/^[A-Za-z0-9]{1,32}$/.test(options.runId)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `encoder runId must be 1 to 32 letters or digits, got ${JSON.stringify(options.runId.slice(0, 40))}`,
    );
  }
  const segmentStem = options.runId === undefined ? 'seg' : `seg-${options.runId}`;
  const flags = [
    'delete_segments',
    'omit_endlist',
    'temp_file',
    'independent_segments',
    'program_date_time',
    ...(options.append ? ['append_list'] : []),
  ];
  return [
    '-hide_banner',
    '-nostats',
    '-v',
    'warning',
    '-progress',
    'pipe:1',
    // Probe little: the input format is known, and a long probe delays the first segment. Stream copy needs
    // a decoded AAC frame to learn the sample format, so copy playout probes up to ~1 s of its (denser) input.
    '-probesize',
    profile.playout === 'copy' ? '2000000' : '65536',
    '-analyzeduration',
    profile.playout === 'copy' ? '1000000' : '100000',
    '-dts_delta_threshold',
    '1',
    ...(options.pacedInput ? [] : ['-re']),
    '-f',
    'mpegts',
    '-i',
    'pipe:0',
    ...(ladder.length > 1
      ? ladderEncoding(profile, gop, ladder)
      : [
          '-map',
          '0:v:0',
          '-map',
          '0:a:0',
          ...(profile.playout === 'copy' ? ['-c', 'copy'] : liveEncoding(profile, gop)),
        ]),
    '-f',
    'hls',
    '-hls_time',
    String(profile.segmentDurationS),
    '-hls_list_size',
    String(profile.listSize),
    '-hls_flags',
    flags.join('+'),
    // RFC 8216 §6.2.2: a segment that left the playlist stays available for its duration plus the playlist's
    // (players and caches holding an older playlist still ask for it); ffmpeg keeps 1 by default.
    '-hls_delete_threshold',
    String(profile.listSize + 1),
    '-hls_segment_type',
    'mpegts',
    ...(ladder.length > 1
      ? [
          '-var_stream_map',
          ladder.map((_, index) => `v:${index},a:${index}`).join(' '),
          '-master_pl_name',
          playlistName,
          '-hls_segment_filename',
          join(options.hlsDirectory, `${segmentStem}_%v_%d.ts`),
          join(options.hlsDirectory, variantPlaylistName(playlistName, '%v')),
        ]
      : [
          '-hls_segment_filename',
          join(options.hlsDirectory, `${segmentStem}-%d.ts`),
          join(options.hlsDirectory, playlistName),
        ]),
  ];
}

/** How the encoder ended. */
export interface EncoderExit {
  exitCode: number | undefined;
  signal: string | undefined;
  /** True when we asked it to stop (then exit code 255 after SIGTERM is normal). */
  stoppedByUs: boolean;
  stderrTail: string;
}

/** The running encoder. */
export interface Encoder {
  readonly pid: number | undefined;
  /** Where the relay writes the normalized MPEG-TS. */
  readonly stdin: Writable;
  /** Resolves when the process has closed; never rejects. */
  readonly closed: Promise<EncoderExit>;
  /** Ends the input, then SIGTERM after `graceMs`, SIGKILL 3 s later. */
  stop(graceMs?: number): Promise<EncoderExit>;
}

/** Starts the encoder; `onStats` receives every `-progress` block. */
export function startEncoder(
  ffmpegPath: string,
  argumentsList: string[],
  onStats: (stats: EncoderStats) => void,
): Encoder {
  const subprocess = execa(ffmpegPath, argumentsList, {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cleanup: true,
    forceKillAfterDelay: 3000,
  });
  subprocess.catch(() => undefined);
  // The underlying ChildProcess: its `close` event is the moment every stdout byte was delivered.
  const child: ChildProcess = subprocess.nodeChildProcess;
  let stoppedByUs = false;
  let stderrTail = '';
  subprocess.stderr?.setEncoding('utf8');
  subprocess.stderr?.on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-4000);
  });
  const stdin = subprocess.stdin as Writable;
  // A crashed encoder closes its stdin: the relay sees EPIPE, which the channel handles through `closed`.
  stdin.on('error', () => undefined);
  let block: Record<string, string> = {};
  let pending = '';
  subprocess.stdout?.setEncoding('utf8');
  subprocess.stdout?.on('data', (text: string) => {
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const equals = line.indexOf('=');
      if (equals < 0) continue;
      const key = line.slice(0, equals).trim();
      const value = line.slice(equals + 1).trim();
      block[key] = value;
      if (key === 'progress') {
        onStats(parseProgress(block));
        block = {};
      }
    }
  });
  const closed = new Promise<EncoderExit>((resolve) => {
    child.once('close', (code, signal) =>
      resolve({
        exitCode: code ?? undefined,
        signal: signal ?? undefined,
        stoppedByUs,
        stderrTail: stderrTail.trim().split('\n').slice(-5).join('; '),
      }),
    );
    child.once('error', () => undefined);
  });
  return {
    pid: subprocess.pid,
    stdin,
    closed,
    async stop(graceMs = 2000) {
      stoppedByUs = true;
      if (child.exitCode === null && child.signalCode === null) {
        stdin.end();
        const timer = setTimeout(() => subprocess.kill('SIGTERM'), graceMs);
        const exit = await closed;
        clearTimeout(timer);
        return exit;
      }
      return closed;
    },
  };
}

/** Parses one `-progress` key=value block. */
export function parseProgress(block: Record<string, string>): EncoderStats {
  const number = (value: string | undefined) => {
    const parsed = Number.parseFloat(value ?? '');
    return Number.isFinite(parsed) ? parsed : 0;
  };
  return {
    frame: number(block.frame),
    fps: number(block.fps),
    bitrateKbps: number(block.bitrate?.replace('kbits/s', '')),
    outTimeMs: Math.round(number(block.out_time_us ?? block.out_time_ms) / 1000),
    speed: number(block.speed?.replace('x', '')),
    duplicatedFrames: number(block.dup_frames),
    droppedFrames: number(block.drop_frames),
  };
}

/** True when an encoder exit is a normal stop: code 0, or 255 / SIGTERM after we asked it to stop. */
export function isNormalEncoderExit(exit: EncoderExit): boolean {
  if (exit.exitCode === 0) return true;
  return exit.stoppedByUs && (exit.exitCode === 255 || exit.signal === 'SIGTERM');
}

/** H.264 + AAC settings of the live (transcode) encoder. */
function liveEncoding(profile: ChannelProfile, gop: number): string[] {
  return [
    '-c:v',
    'libx264',
    '-preset',
    profile.x264Preset,
    '-tune',
    'zerolatency',
    ...x264SegmentArguments(profile, gop),
    '-r',
    String(profile.fps),
    '-fps_mode',
    'cfr',
    '-af',
    'aresample=async=1',
    '-c:a',
    'aac',
    '-b:a',
    `${profile.audioBitrateKbps}k`,
    '-ar',
    '48000',
    '-ac',
    '2',
  ];
}

/** The media playlist of rendition `index` when a ladder is used: `index_0.m3u8`, `index_1.m3u8`… */
export function variantPlaylistName(playlistName: string, index: number | string): string {
  return playlistName.replace(/\.m3u8$/, `_${index}.m3u8`);
}

/** The ladder: split + scale per rendition, one x264 per rendition, audio encoded once per variant. */
function ladderEncoding(
  profile: ChannelProfile,
  gop: number,
  ladder: readonly { width: number; height: number; videoBitrateKbps: number }[],
): string[] {
  const split = `[0:v:0]split=${ladder.length}${ladder.map((_, index) => `[s${index}]`).join('')}`;
  const scales = ladder.map(
    (rendition, index) =>
      `[s${index}]scale=w=${rendition.width}:h=${rendition.height}:force_original_aspect_ratio=decrease,` +
      `pad=${rendition.width}:${rendition.height}:(ow-iw)/2:(oh-ih)/2,setsar=1[v${index}]`,
  );
  const live = liveEncoding(profile, gop).filter(
    (_, index, list) =>
      !['-b:v', '-maxrate', '-bufsize'].includes(list[index] as string) &&
      !['-b:v', '-maxrate', '-bufsize'].includes(list[index - 1] as string),
  );
  return [
    '-filter_complex',
    [split, ...scales].join(';'),
    ...ladder.flatMap((_, index) => ['-map', `[v${index}]`]),
    ...ladder.flatMap(() => ['-map', '0:a:0']),
    ...live,
    ...ladder.flatMap((rendition, index) => [
      `-b:v:${index}`,
      `${rendition.videoBitrateKbps}k`,
      `-maxrate:v:${index}`,
      `${rendition.videoBitrateKbps}k`,
      `-bufsize:v:${index}`,
      `${rendition.videoBitrateKbps * 2}k`,
    ]),
  ];
}
