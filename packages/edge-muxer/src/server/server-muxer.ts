import { PassThrough, type Readable } from 'node:stream';
import { type DeliveryContainer, NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { locateProgram } from '@nexstream/core/node';
import { execa } from 'execa';
import { id3v2Tag } from './id3-tag.js';

/** One input of a server mux: an http(s) URL, normally a tunnel URL on loopback. */
export type ServerMuxInput = string | { url: string; headers?: Record<string, string> };

/** Cover art bytes (JPEG or PNG), fed to ffmpeg through stdin, never through a file or a URL. */
export interface ServerMuxCover {
  data: Uint8Array;
  mimeType: 'image/jpeg' | 'image/png';
}

/** Tags written into the output where the container allows (see the README's table). */
export interface ServerMuxMetadata {
  title?: string;
  /** Main artists first; joined with `, ` (`/` in MP3's ID3 tag). */
  artists?: string[];
  album?: string;
  /** `YYYY`, `YYYY-MM` or `YYYY-MM-DD`. */
  releaseDate?: string;
  cover?: ServerMuxCover;
}

/** A job for {@link muxOnServer}: the same description the edge muxer takes, plus Node-only options. */
export interface ServerMuxOptions {
  /** The video input; absent for audio-only jobs. */
  video?: ServerMuxInput;
  /** The audio input. */
  audio: ServerMuxInput;
  /**
   * The output: `mp4` (fragmented), `mkv`, `webm` for video; `m4a` (fragmented), `opus`, `ogg`, `webm`,
   * `mkv` by stream copy and `mp3` by transcode (libmp3lame, CBR) for audio-only jobs.
   */
  container: DeliveryContainer;
  metadata?: ServerMuxMetadata;
  /** Aborting kills ffmpeg at once and errors the stream with `NXS_ABORTED`. */
  signal?: AbortSignal;
  /** MP3 bitrate in kbit/s. Default 192. */
  mp3BitrateKbps?: number;
  /** ffmpeg to run: an explicit path (else `NEXSTREAM_FFMPEG`, else PATH; see `locateProgram`). */
  ffmpegPath?: string;
  /** ffmpeg fails when an input stalls this long, in milliseconds. Default 30000. */
  ioTimeoutMs?: number;
}

/**
 * The muxed output: a Node `Readable` of the file's bytes, as ffmpeg writes them. Pipe it into the HTTP
 * response (`pipeline(stream, response)`); destroying it (or a client hanging up on the pipeline) kills
 * ffmpeg.
 */
export interface ServerMuxStream extends Readable {
  /** The `Content-Type` for the response. */
  readonly contentType: string;
  /** The file extension for the download's name, without the dot. */
  readonly extension: string;
  /** The ffmpeg process id, for "no process left behind" checks. */
  readonly pid: number | undefined;
  /** Settles when ffmpeg exited: resolves after a clean run, rejects with the stream's error otherwise. */
  readonly done: Promise<void>;
}

const contentTypes: Record<DeliveryContainer, { video: string; audio: string; format: string }> = {
  mp4: { video: 'video/mp4', audio: 'audio/mp4', format: 'mp4' },
  m4a: { video: 'audio/mp4', audio: 'audio/mp4', format: 'ipod' },
  mkv: { video: 'video/x-matroska', audio: 'audio/x-matroska', format: 'matroska' },
  webm: { video: 'video/webm', audio: 'audio/webm', format: 'webm' },
  mp3: { video: 'audio/mpeg', audio: 'audio/mpeg', format: 'mp3' },
  opus: { video: 'audio/ogg; codecs=opus', audio: 'audio/ogg; codecs=opus', format: 'opus' },
  ogg: { video: 'audio/ogg', audio: 'audio/ogg', format: 'ogg' },
};

const stderrLinesKept = 12;

/**
 * Muxes separate video and audio streams on the server with native ffmpeg and streams the result: ffmpeg
 * (spawned with execa, arguments as an array) reads both inputs over HTTP (the tunnel), copies the
 * streams without re-encoding into fragmented MP4 (`frag_keyframe+empty_moov+default_base_moof`),
 * Matroska or WebM, and writes to stdout: nothing touches the disk. Audio-only jobs copy into M4A, Opus,
 * Ogg or WebM, or transcode to MP3. Title, artists, album, date and cover art are written where the
 * container allows.
 *
 * Resolves once ffmpeg is running. The stream errors with `NXS_PROCESS_FAILED` (the message carries
 * ffmpeg's last stderr lines) when ffmpeg fails, and with `NXS_ABORTED` when `signal` aborts; in both cases,
 * and when the consumer destroys the stream early, ffmpeg is killed and reaped.
 *
 * @example
 * ```ts
 * const stream = await muxOnServer({ video: tunnelUrl(videoToken), audio: tunnelUrl(audioToken),
 *   container: 'mp4', metadata: { title: 'Halo', artists: ['Beyoncé'] }, signal });
 * response.setHeader('content-type', stream.contentType);
 * await pipeline(stream, response);
 * ```
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` for a non-http(s) input or a container that cannot be used for
 *   the job, `NXS_DEPENDENCY_MISSING` without ffmpeg.
 */
export async function muxOnServer(options: ServerMuxOptions): Promise<ServerMuxStream> {
  const { container, metadata = {}, signal } = options;
  const audioOnly = options.video === undefined;
  if (!(container in contentTypes)) {
    throw invalid(`unknown container ${String(container)}: use mp4, mkv, webm, m4a, mp3, opus or ogg`);
  }
  if (!audioOnly && ['m4a', 'mp3', 'opus', 'ogg'].includes(container)) {
    throw invalid(`${container} cannot hold video: use mp4, mkv or webm, or leave out the video input`);
  }
  const inputs = [options.video, options.audio].filter(
    (input): input is ServerMuxInput => input !== undefined,
  );
  for (const input of inputs) {
    const url = typeof input === 'string' ? input : input.url;
    if (!/^https?:\/\//i.test(url))
      throw invalid(`server mux inputs must be http(s) URLs (the tunnel), got ${url.slice(0, 40)}`);
  }
  if (signal?.aborted) throw aborted(signal);
  const ffmpeg = await locateProgram('ffmpeg', options.ffmpegPath ? { path: options.ffmpegPath } : {});
  const args = serverMuxArguments(options);
  const coverThroughFfmpeg = coverInFfmpeg(container, audioOnly) ? metadata.cover : undefined;

  const subprocess = execa(ffmpeg.path, args, {
    stdin: coverThroughFfmpeg ? 'pipe' : 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    cancelSignal: signal,
    killSignal: 'SIGKILL',
    forceKillAfterDelay: false,
    stripFinalNewline: false,
  });
  if (coverThroughFfmpeg && subprocess.stdin) {
    subprocess.stdin.on('error', () => {}); // ffmpeg may exit before reading it all; the exit code tells.
    subprocess.stdin.end(coverThroughFfmpeg.data);
  }

  const stderrLines: string[] = [];
  let partial = '';
  subprocess.stderr?.setEncoding('utf8');
  subprocess.stderr?.on('data', (text: string) => {
    const lines = (partial + text).split(/\r?\n|\r/);
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      stderrLines.push(line);
      if (stderrLines.length > stderrLinesKept) stderrLines.shift();
    }
  });

  const output = new PassThrough({ highWaterMark: 1024 * 1024 });
  if (container === 'mp3') {
    output.write(
      id3v2Tag({
        title: metadata.title,
        artists: metadata.artists,
        album: metadata.album,
        year: metadata.releaseDate,
        cover: metadata.cover,
      }),
    );
  }
  const stdout = subprocess.stdout as Readable;
  stdout.pipe(output, { end: false });
  const stdoutEnded = new Promise<void>((resolve) => {
    stdout.once('end', resolve);
    stdout.once('close', resolve);
  });

  let settled = false;
  output.once('close', () => {
    if (!settled) subprocess.kill('SIGKILL');
  });

  const done = (async () => {
    const result = await subprocess;
    await stdoutEnded;
    settled = true;
    if (partial.trim()) stderrLines.push(partial);
    if (result.exitCode === 0 && !result.isCanceled) {
      output.end();
      return;
    }
    let error: NexStreamError;
    if (signal?.aborted || result.isCanceled) {
      error = aborted(signal);
    } else if (output.destroyed) {
      error = new NexStreamError(NexStreamErrorCode.Aborted, 'the consumer left before ffmpeg finished');
    } else {
      const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
      error = new NexStreamError(
        NexStreamErrorCode.ProcessFailed,
        `ffmpeg ${how} while muxing to ${container}: ${stderrLines.slice(-6).join(' | ') || '(no output)'}`,
        { details: { exitCode: result.exitCode, stderr: stderrLines.slice() } },
      );
    }
    output.destroy(error);
    throw error;
  })();
  done.catch(() => {});

  return Object.assign(output, {
    contentType: audioOnly ? contentTypes[container].audio : contentTypes[container].video,
    extension: container,
    pid: subprocess.pid,
    done,
  }) as ServerMuxStream;
}

/**
 * The ffmpeg arguments {@link muxOnServer} runs, for logs and for reproducing a job by hand. The output is
 * always `pipe:1`; a cover (where ffmpeg writes it) is read from `pipe:0`.
 */
export function serverMuxArguments(options: Omit<ServerMuxOptions, 'signal'>): string[] {
  const { container, metadata = {} } = options;
  const audioOnly = options.video === undefined;
  const ioTimeoutUs = String((options.ioTimeoutMs ?? 30_000) * 1000);
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-xerror'];
  const inputArgs = (input: ServerMuxInput): string[] => {
    const url = typeof input === 'string' ? input : input.url;
    const headers = typeof input === 'string' ? undefined : input.headers;
    const headerText = headers
      ? Object.entries(headers)
          .map(([name, value]) => `${name}: ${value.replace(/[\r\n]/g, ' ')}\r\n`)
          .join('')
      : '';
    return [
      '-protocol_whitelist',
      'http,https,tcp,tls',
      '-rw_timeout',
      ioTimeoutUs,
      ...(headerText ? ['-headers', headerText] : []),
      '-i',
      url,
    ];
  };
  if (options.video !== undefined) args.push(...inputArgs(options.video));
  args.push(...inputArgs(options.audio));
  const cover = coverInFfmpeg(container, audioOnly) ? metadata.cover : undefined;
  if (cover) args.push('-protocol_whitelist', 'pipe', '-f', 'image2pipe', '-i', 'pipe:0');

  const audioIndex = audioOnly ? 0 : 1;
  if (!audioOnly) args.push('-map', '0:v:0');
  args.push('-map', `${audioIndex}:a:0`);
  if (cover) args.push('-map', `${audioIndex + 1}:v:0`);
  args.push('-map_metadata', '-1', '-map_chapters', '-1');
  if (container === 'mp3') {
    args.push('-c:a', 'libmp3lame', '-b:a', `${options.mp3BitrateKbps ?? 192}k`);
  } else {
    args.push('-c', 'copy');
  }
  if (cover) args.push(`-disposition:v:${audioOnly ? 0 : 1}`, 'attached_pic');

  if (container !== 'mp3') {
    const tags: Array<[string, string | undefined]> = [
      ['title', metadata.title],
      ['artist', metadata.artists?.filter(Boolean).join(', ') || undefined],
      ['album', metadata.album],
      ['date', metadata.releaseDate],
    ];
    for (const [key, value] of tags) {
      if (value) args.push('-metadata', `${key}=${value}`);
    }
  }

  switch (container) {
    case 'mp4':
      args.push('-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4');
      break;
    case 'm4a':
      // Audio has a keyframe per packet: fragment by time instead (2 s), not per keyframe.
      args.push('-movflags', 'empty_moov+default_base_moof', '-frag_duration', '2000000', '-f', 'ipod');
      break;
    case 'mp3':
      // No ID3 (written by NexStream, see id3-tag.ts) and no Xing frame: both need a seekable output.
      args.push('-write_id3v2', '0', '-write_xing', '0', '-f', 'mp3');
      break;
    default:
      args.push('-f', contentTypes[container].format);
  }
  args.push('pipe:1');
  return args;
}

/**
 * Whether ffmpeg itself writes the cover: only Matroska (as an attachment). Fragmented MP4 and M4A get a
 * broken extra track from ffmpeg 5.1, WebM forbids attachments, Ogg/Opus pictures need ffmpeg ≥ 7, and the
 * MP3 cover goes into NexStream's own ID3 tag.
 */
function coverInFfmpeg(container: DeliveryContainer, _audioOnly: boolean): boolean {
  return container === 'mkv';
}

function invalid(message: string): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.InvalidInput, message);
}

function aborted(signal: AbortSignal | undefined): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.Aborted, 'the server mux was aborted', {
    cause: signal?.reason,
  });
}
