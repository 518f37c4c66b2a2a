import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { locateProgram } from '@nexstream/core/node';

/** The sample files {@link sampleMedia} can make. */
export type SampleKind =
  /** Muxed H.264 + AAC MP4 with `+faststart` (a progressive download). */
  | 'h264-aac-mp4'
  /** Video-only H.264 MP4 (the split YouTube serves). */
  | 'h264-video-mp4'
  /** Audio-only AAC M4A. */
  | 'aac-audio-m4a'
  /** Video-only VP9 WebM. */
  | 'vp9-video-webm'
  /** Audio-only Opus WebM. */
  | 'opus-audio-webm'
  /** Muxed VP9 + Opus WebM. */
  | 'vp9-opus-webm'
  /**
   * Starts like an MP4 (the first KB of a real H.264 + AAC one: `ftyp`, then `mdat`), random garbage after,
   * same size as the real file. The index is lost, so ffprobe, ffmpeg and browsers all refuse it.
   */
  | 'corrupt-mp4';

/** Every {@link SampleKind}, for table-driven tests. */
export const sampleKinds: readonly SampleKind[] = [
  'h264-aac-mp4',
  'h264-video-mp4',
  'aac-audio-m4a',
  'vp9-video-webm',
  'opus-audio-webm',
  'vp9-opus-webm',
  'corrupt-mp4',
];

/** What a sample looks like. Options a kind does not use (the size of an audio-only file) are ignored. */
export interface SampleOptions {
  /** Duration in seconds. Default 5. Keep samples short: every second costs encoding time on a shared CI box. */
  durationS?: number;
  /** Frame width in pixels. Default 640. */
  width?: number;
  /** Frame height in pixels. Default 360. */
  height?: number;
  /** Frames per second. Default 30. */
  fps?: number;
  /** Audio layout of kinds with audio. Default `'stereo'`; `'none'` drops the audio stream of muxed kinds. */
  audio?: 'stereo' | 'mono' | 'none';
  /** Audio sample rate in Hz. Default 48000 (Opus only knows 48/24/16/12/8 kHz; ffmpeg resamples otherwise). */
  sampleRateHz?: number;
  /** Seconds between keyframes (fixed GOP, no scene-cut keyframes). Default 2. */
  gopS?: number;
}

/** Options of {@link sampleDash}. */
export interface SampleDashOptions extends SampleOptions {
  /** The codec pair of the two representations. Default `'h264-aac'` (fMP4 segments); `'vp9-opus'` gives WebM. */
  codecs?: 'h264-aac' | 'vp9-opus';
}

/** What {@link probeMedia} returns: ffprobe's JSON, with the duration as a number. */
export interface ProbedMedia {
  /** The container duration in seconds (`format.duration`). */
  durationS: number;
  /** The container format name(s), e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `matroska,webm`. */
  formatName: string;
  /** The streams as ffprobe reports them (every field ffprobe prints is kept). */
  streams: ProbedStream[];
}

/** One stream as ffprobe describes it; the commonly asserted fields are typed, the rest are kept as is. */
export interface ProbedStream {
  /** `video`, `audio`, `subtitle`, `data`… */
  codec_type: string;
  /** ffprobe's codec name: `h264`, `vp9`, `aac`, `opus`… */
  codec_name: string;
  /** Frame width in pixels (video). */
  width?: number;
  /** Frame height in pixels (video). */
  height?: number;
  /** Audio channel count (audio). */
  channels?: number;
  /** Audio sample rate in Hz, as the string ffprobe prints (audio). */
  sample_rate?: string;
  /** Every other field ffprobe printed for the stream. */
  [field: string]: unknown;
}

/** Bump when a recipe changes, so old cache entries are not reused. */
const recipeVersion = 5;

const defaults: Required<SampleOptions> = {
  durationS: 5,
  width: 640,
  height: 360,
  fps: 30,
  audio: 'stereo',
  sampleRateHz: 48_000,
  gopS: 2,
};

const extensions: Readonly<Record<SampleKind, string>> = {
  'h264-aac-mp4': 'mp4',
  'h264-video-mp4': 'mp4',
  'aac-audio-m4a': 'm4a',
  'vp9-video-webm': 'webm',
  'opus-audio-webm': 'webm',
  'vp9-opus-webm': 'webm',
  'corrupt-mp4': 'mp4',
};

const pending = new Map<string, Promise<string>>();

/**
 * The directory samples are cached in: `$NEXSTREAM_TESTKIT_CACHE`, else
 * `<workspace root>/node_modules/.cache/nexstream-testkit/media` (the workspace root is the nearest
 * `package.json` with `workspaces` above this file), else a folder in the OS temp directory.
 */
export function sampleCacheDirectory(): string {
  const fromEnv = process.env.NEXSTREAM_TESTKIT_CACHE;
  if (fromEnv) return fromEnv;
  const root = findWorkspaceRoot(dirname(fileURLToPath(import.meta.url)));
  return root
    ? join(root, 'node_modules', '.cache', 'nexstream-testkit', 'media')
    : join(tmpdir(), 'nexstream-testkit', 'media');
}

/**
 * A sample media file made with the real ffmpeg from lavfi sources (a moving `testsrc2` picture, sine
 * tones), cached on disk by kind and options, so only the first test run pays for encoding. Safe to call
 * from many test files at once: concurrent calls in one process share one ffmpeg run, and files are
 * written under a temporary name and renamed into place.
 *
 * @returns The absolute path of the cached file. Treat it as read-only (copy it before changing it).
 * @throws NexStreamError `NXS_DEPENDENCY_MISSING` without ffmpeg; `NXS_PROCESS_FAILED` when ffmpeg fails;
 *   `NXS_INVALID_INPUT` for an audio-only kind with `audio: 'none'` or out-of-range options.
 *
 * @example
 * ```ts
 * const video = await sampleMedia('h264-video-mp4', { durationS: 3, width: 320, height: 180 });
 * const audio = await sampleMedia('aac-audio-m4a', { durationS: 3 });
 * ```
 */
export async function sampleMedia(kind: SampleKind, options: SampleOptions = {}): Promise<string> {
  const settings = normalize(kind, options);
  const path = join(sampleCacheDirectory(), `${kind}-${hashOf({ kind, ...settings })}.${extensions[kind]}`);
  return cached(path, () => generateFile(kind, settings, path));
}

/**
 * A DASH presentation (a `manifest.mpd` with one video and one audio adaptation set, segments of `gopS`
 * seconds) made with ffmpeg's dash muxer and cached like {@link sampleMedia}. Serve it with
 * {@link MediaOrigin.addDirectory} and point yt-dlp or a player at `<base>manifest.mpd`.
 *
 * @returns The absolute path of the directory holding `manifest.mpd` and its segments.
 */
export async function sampleDash(options: SampleDashOptions = {}): Promise<string> {
  const codecs = options.codecs ?? 'h264-aac';
  const settings = normalize(codecs === 'h264-aac' ? 'h264-aac-mp4' : 'vp9-opus-webm', options);
  if (settings.audio === 'none') {
    throw invalid('sampleDash needs audio: a DASH sample has separate video and audio adaptation sets');
  }
  const path = join(sampleCacheDirectory(), `dash-${codecs}-${hashOf({ dash: codecs, ...settings })}`);
  return cached(path, () => generateDash(codecs, settings, path));
}

/**
 * Reads a media file with the real ffprobe (`-show_format -show_streams`).
 *
 * @throws NexStreamError `NXS_UNSUPPORTED_MEDIA` when ffprobe cannot read the file (with its stderr);
 *   `NXS_DEPENDENCY_MISSING` without ffprobe.
 */
export async function probeMedia(path: string): Promise<ProbedMedia> {
  const ffprobe = await locateProgram('ffprobe');
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path];
  let stdout: string;
  try {
    stdout = (await run(ffprobe.path, args)).stdout;
  } catch (error) {
    throw new NexStreamError(
      NexStreamErrorCode.UnsupportedMedia,
      `ffprobe could not read ${path}: ${lastLines(error)}`,
      { cause: error },
    );
  }
  const parsed = JSON.parse(stdout) as {
    format?: { duration?: string; format_name?: string };
    streams?: ProbedStream[];
  };
  return {
    durationS: Number(parsed.format?.duration ?? Number.NaN),
    formatName: parsed.format?.format_name ?? '',
    streams: parsed.streams ?? [],
  };
}

function normalize(kind: SampleKind, options: SampleOptions): Required<SampleOptions> {
  const settings = { ...defaults, ...withoutUndefined(options) };
  const positive: Array<keyof SampleOptions> = [
    'durationS',
    'width',
    'height',
    'fps',
    'sampleRateHz',
    'gopS',
  ];
  for (const key of positive) {
    const value = settings[key] as number;
    if (!(Number.isFinite(value) && value > 0))
      throw invalid(`sample option ${key} must be a positive number`);
  }
  if (settings.width % 2 !== 0 || settings.height % 2 !== 0) {
    throw invalid(`sample width and height must be even (yuv420p), got ${settings.width}x${settings.height}`);
  }
  if (!['stereo', 'mono', 'none'].includes(settings.audio)) {
    throw invalid(`sample option audio must be 'stereo', 'mono' or 'none', got ${String(settings.audio)}`);
  }
  if ((kind === 'aac-audio-m4a' || kind === 'opus-audio-webm') && settings.audio === 'none') {
    throw invalid(`sample kind ${kind} is audio-only: audio 'none' makes no sense`);
  }
  return settings;
}

function cached(path: string, make: () => Promise<void>): Promise<string> {
  let promise = pending.get(path);
  if (!promise) {
    promise = (async () => {
      if (existsSync(path)) return path;
      await mkdir(dirname(path), { recursive: true });
      await make();
      return path;
    })();
    pending.set(path, promise);
    promise.catch(() => pending.delete(path));
  }
  return promise;
}

function videoInput(settings: Required<SampleOptions>): string[] {
  const { width, height, fps, durationS } = settings;
  return ['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}:duration=${durationS}`];
}

function audioInput(settings: Required<SampleOptions>): string[] {
  const { sampleRateHz, durationS } = settings;
  const source =
    settings.audio === 'mono'
      ? `sine=frequency=440:sample_rate=${sampleRateHz}:duration=${durationS}`
      : `aevalsrc=exprs=0.5*sin(2*PI*440*t)|0.5*sin(2*PI*660*t):sample_rate=${sampleRateHz}:duration=${durationS}`;
  return ['-f', 'lavfi', '-i', source];
}

function gopArgs(settings: Required<SampleOptions>): string[] {
  const frames = String(Math.max(1, Math.round(settings.gopS * settings.fps)));
  return ['-g', frames, '-keyint_min', frames, '-sc_threshold', '0'];
}

function h264Args(settings: Required<SampleOptions>): string[] {
  return ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', ...gopArgs(settings)];
}

function vp9Args(settings: Required<SampleOptions>): string[] {
  return [
    '-c:v',
    'libvpx-vp9',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-row-mt',
    '1',
    '-b:v',
    '600k',
    '-pix_fmt',
    'yuv420p',
    ...gopArgs(settings),
  ];
}

function audioArgs(codec: 'aac' | 'opus', settings: Required<SampleOptions>): string[] {
  const channels = settings.audio === 'mono' ? '1' : '2';
  return codec === 'aac'
    ? ['-c:a', 'aac', '-b:a', '128k', '-ac', channels, '-ar', String(settings.sampleRateHz)]
    : ['-c:a', 'libopus', '-b:a', '96k', '-ac', channels];
}

/** ffmpeg arguments between the inputs and the output for each kind that is encoded directly. */
function encodeArgs(kind: Exclude<SampleKind, 'corrupt-mp4'>, settings: Required<SampleOptions>): string[] {
  const withAudio = settings.audio !== 'none';
  const video = videoInput(settings);
  const audio = audioInput(settings);
  switch (kind) {
    case 'h264-aac-mp4':
      return withAudio
        ? [
            ...video,
            ...audio,
            ...h264Args(settings),
            ...audioArgs('aac', settings),
            '-movflags',
            '+faststart',
            '-f',
            'mp4',
          ]
        : [...video, ...h264Args(settings), '-movflags', '+faststart', '-f', 'mp4'];
    case 'h264-video-mp4':
      return [...video, ...h264Args(settings), '-movflags', '+faststart', '-f', 'mp4'];
    case 'aac-audio-m4a':
      return [...audio, ...audioArgs('aac', settings), '-movflags', '+faststart', '-f', 'mp4'];
    case 'vp9-video-webm':
      return [...video, ...vp9Args(settings), '-f', 'webm'];
    case 'opus-audio-webm':
      return [...audio, ...audioArgs('opus', settings), '-f', 'webm'];
    case 'vp9-opus-webm':
      return withAudio
        ? [...video, ...audio, ...vp9Args(settings), ...audioArgs('opus', settings), '-f', 'webm']
        : [...video, ...vp9Args(settings), '-f', 'webm'];
  }
}

async function generateFile(
  kind: SampleKind,
  settings: Required<SampleOptions>,
  path: string,
): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    if (kind === 'corrupt-mp4') {
      // The source keeps its index (`moov`) at the end (no faststart), so the garbage replaces the whole
      // index and every reader fails the same way ("moov atom not found"), whatever the random bytes are.
      const source = `${temporary}.source`;
      try {
        await ffmpeg([
          ...encodeArgs('h264-aac-mp4', settings).filter(
            (arg) => arg !== '+faststart' && arg !== '-movflags',
          ),
          source,
        ]);
        await writeCorrupt(source, temporary);
      } finally {
        await rm(source, { force: true });
      }
    } else {
      await ffmpeg([...encodeArgs(kind, settings), temporary]);
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

async function writeCorrupt(source: string, target: string): Promise<void> {
  const { size } = await stat(source);
  const input = await open(source, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(Math.min(1024, size));
    await input.read(head, 0, head.length, 0);
  } finally {
    await input.close();
  }
  const output = await open(target, 'w');
  try {
    await output.write(head);
    let remaining = size - head.length;
    while (remaining > 0) {
      const chunk = randomBytes(Math.min(remaining, 1024 * 1024));
      await output.write(chunk);
      remaining -= chunk.length;
    }
  } finally {
    await output.close();
  }
}

async function generateDash(
  codecs: 'h264-aac' | 'vp9-opus',
  settings: Required<SampleOptions>,
  path: string,
): Promise<void> {
  const temporary = await mkdtemp(`${path}.tmp-`);
  try {
    const encoders =
      codecs === 'h264-aac'
        ? [...h264Args(settings), ...audioArgs('aac', settings)]
        : [...vp9Args(settings), ...audioArgs('opus', settings), '-dash_segment_type', 'webm'];
    await ffmpeg([
      ...videoInput(settings),
      ...audioInput(settings),
      '-map',
      '0:v',
      '-map',
      '1:a',
      ...encoders,
      '-f',
      'dash',
      '-seg_duration',
      String(settings.gopS),
      '-use_template',
      '1',
      '-use_timeline',
      '1',
      '-adaptation_sets',
      'id=0,streams=v id=1,streams=a',
      join(temporary, 'manifest.mpd'),
    ]);
    try {
      await rename(temporary, path);
    } catch (error) {
      // Another process finished the same sample first: keep its copy.
      if (!existsSync(join(path, 'manifest.mpd'))) throw error;
      await rm(temporary, { recursive: true, force: true });
    }
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
}

async function ffmpeg(args: string[]): Promise<void> {
  const program = await locateProgram('ffmpeg');
  const full = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-threads', '2', ...args];
  try {
    await run(program.path, full);
  } catch (error) {
    throw new NexStreamError(
      NexStreamErrorCode.ProcessFailed,
      `ffmpeg failed to make a sample (${program.path} ${full.join(' ')}): ${lastLines(error)}`,
      { cause: error },
    );
  }
}

function run(program: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    execFile(program, args, { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr }));
      else resolveRun({ stdout, stderr });
    });
  });
}

function lastLines(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  const text = typeof stderr === 'string' && stderr.trim() ? stderr : String(error);
  return text.trim().split('\n').slice(-5).join(' | ');
}

function hashOf(value: Record<string, unknown>): string {
  const canonical = JSON.stringify(
    { recipeVersion, ...value },
    Object.keys({ recipeVersion, ...value }).sort(),
  );
  return createHash('sha256').update(canonical).digest('hex').slice(0, 12);
}

function findWorkspaceRoot(start: string): string | undefined {
  let directory = start;
  for (;;) {
    const manifest = join(directory, 'package.json');
    if (existsSync(manifest)) {
      try {
        const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown };
        if (parsed.workspaces) return directory;
      } catch {
        // An unreadable package.json is not the workspace root; keep walking up.
      }
    }
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

function invalid(message: string): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.InvalidInput, message);
}
