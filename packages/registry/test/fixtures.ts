import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createVerifiedMatch, type VerifiedMatch } from '../src/verification.js';

/** A fixed "now" for tests, epoch milliseconds (2027-01-15T08:00:00Z). */
export const testNow = Date.UTC(2027, 0, 15, 8, 0, 0);

const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function encode(value: number, length: number, alphabet: string): string {
  let text = '';
  let rest = value;
  for (let index = 0; index < length; index += 1) {
    text = alphabet[rest % alphabet.length] + text;
    rest = Math.floor(rest / alphabet.length);
  }
  return text;
}

/** Options of {@link sampleMatch}. */
export interface SampleMatchOptions {
  /** Epoch ms at which the links expire. */
  expiresAt?: number;
  /** Overrides the video (its number) to map another media to the same ISRC. */
  video?: number;
  /** Overrides the Spotify id's number. */
  spotify?: number;
  title?: string;
}

/**
 * A realistic verified match, unique per (series, index): a suite uses its own `series` (0–999) so suites
 * sharing one server never collide. Shapes follow Deezer's track object and yt-dlp's format list.
 */
export function sampleMatchInput(series: number, index: number, options: SampleMatchOptions = {}) {
  const number = series * 1_000_000 + index;
  const isrc = `QZ${encode(series, 3, base62.slice(0, 36))}${String(index).padStart(7, '0')}`;
  const video = encode(options.video ?? number, 11, base62);
  const expiresAt = options.expiresAt ?? testNow + 6 * 60 * 60 * 1000;
  const expireSeconds = Math.floor(expiresAt / 1000);
  return {
    track: {
      title: options.title ?? `Song ${number}`,
      artists: [`Artist ${series}`, `Guest ${index}`],
      album: `Album ${series}`,
      durationMs: 212_000 + (index % 1000),
      isrc,
      releaseDate: '2021-03-05',
      explicit: false,
      coverArt: {
        medium: `https://e-cdns-images.dzcdn.net/images/cover/${number}/500x500-000000-80-0-0.jpg`,
      },
      ids: {
        spotify: encode(options.spotify ?? number, 22, base62),
        deezer: String(3_000_000_000 + number),
        apple: String(1_500_000_000 + number),
      },
    },
    media: {
      id: `youtube:${video}`,
      platform: 'youtube' as const,
      pageUrl: `https://www.youtube.com/watch?v=${video}`,
      title: `Artist ${series} - Song ${number} (Official Audio)`,
      channel: `Artist ${series} - Topic`,
      durationMs: 212_000 + (index % 1000) + 400,
      formats: [
        {
          id: '137',
          container: 'mp4',
          videoCodec: 'avc1.640028',
          width: 1920,
          height: 1080,
          fps: 30,
          bitrateBps: 4_400_000,
          url: `https://rr3---sn-4g5e6nsz.googlevideo.com/videoplayback?expire=${expireSeconds}&ei=${video}&itag=137&source=youtube&mime=video%2Fmp4&sig=AOq0QJ8wRQIh${number}`,
          expiresAt,
        },
        {
          id: '140',
          container: 'm4a',
          audioCodec: 'mp4a.40.2',
          bitrateBps: 129_000,
          sampleRateHz: 44_100,
          audioChannels: 2,
          url: `https://rr3---sn-4g5e6nsz.googlevideo.com/videoplayback?expire=${expireSeconds}&ei=${video}&itag=140&source=youtube&mime=audio%2Fmp4&sig=AOq0QJ8wRgIg${number}`,
          expiresAt,
        },
      ],
      preferred: { videoFormatId: '137', audioFormatId: '140' },
      expiresAt,
    },
    verification: { method: 'isrc-search' as const, isrcSource: 'deezer' },
    verifiedAt: testNow - 60_000,
  };
}

/** {@link sampleMatchInput}, verified. */
export function sampleMatch(series: number, index: number, options: SampleMatchOptions = {}): VerifiedMatch {
  return createVerifiedMatch(sampleMatchInput(series, index, options));
}

const hooks = fileURLToPath(new URL('./child/source-hooks.mjs', import.meta.url));

/** Runs a child script (TypeScript, from sources) with `node`, returning the process and a line reader. */
export function spawnChild(script: string, args: string[]) {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@nexstream/source',
      '--import',
      hooks,
      fileURLToPath(new URL(`./child/${script}`, import.meta.url)),
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const lines: string[] = [];
  const waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
      newline = buffer.indexOf('\n');
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    /** Resolves with the first line (already printed or to come) that starts with `prefix`. */
    waitForLine(prefix: string): Promise<string> {
      const seen = lines.find((line) => line.startsWith(prefix));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ match: (line) => line.startsWith(prefix), resolve });
        void exited.then(({ code, signal }) =>
          reject(
            new Error(`child exited (${code ?? signal}) before printing "${prefix}": ${stderr.slice(-2000)}`),
          ),
        );
      });
    },
  };
}
