import type { LogLevel } from '@nexstream/core';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { locateProgram } from '@nexstream/core/node';
import { execa, type ResultPromise } from 'execa';
import type { EngineCallOptions, ExtractedMedia, VideoCandidate, VideoEngine } from '../../engine.js';
import { unlessNotFound } from '../shared/not-found.js';
import { requireIsrc, text } from '../shared/track-fields.js';
import { stderrTailLines, ytDlpError } from './youtube-errors.js';
import { parseYtDlpSearch, parseYtDlpVideo } from './youtube-format.js';

/** Settings for {@link createYoutubeEngine}. */
export interface YoutubeSettings {
  /** The yt-dlp binary; else `NEXSTREAM_YTDLP`, else PATH (through core's `locateProgram`). */
  binaryPath?: string;
  /** Environment for locating the binary and for the process. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Format selector for extraction. Default `bv*+ba/b` (best video + best audio, else the best single file). */
  format?: string;
  /** Search results per search. Default 10. */
  searchLimit?: number;
  /**
   * What yt-dlp is given for a search. Default `ytsearch<limit>:<query>`. Point it elsewhere for another
   * site's search, or at a page of videos in tests.
   */
  searchTarget?: (query: string, limit: number) => string;
  /** What is searched for an ISRC. Default `"<ISRC>"` (quoted, so YouTube matches it exactly). */
  isrcQuery?: (isrc: string) => string;
  /** Kill a search after this many ms. Default 30000. */
  searchTimeoutMs?: number;
  /** Kill an extraction after this many ms. Default 60000. */
  extractTimeoutMs?: number;
  /** yt-dlp's own `--socket-timeout`, in seconds. Default 15. */
  socketTimeoutS?: number;
  /** Extra arguments for every run (`--cookies`, `--extractor-args`, `--proxy`). Placed before the URL. */
  extraArgs?: string[];
  /**
   * The yt-dlp extractors every run may use (`--use-extractors`, which yt-dlp has had since 2022.11 and
   * still honours). Default {@link defaultYoutubeExtractors}: YouTube's watch-page and search extractors
   * only, so whatever URL reaches yt-dlp (a search result, a stored page URL, a caller's override) it never
   * makes the server fetch another site. A test world that serves pages to yt-dlp's generic extractor on
   * loopback adds `generic`; never add it on a server that takes URLs from clients.
   */
  extractors?: readonly string[];
  /**
   * A stand-in for YouTube's watch page, for tests and offline demos: where an extraction by video id
   * (`doExtract({ id })`) reads the video. The URL must be on loopback (`127.0.0.1`, `::1`, `localhost`), and
   * the extractors must let yt-dlp read it (a test world adds `generic`). What it returns is taken as the
   * YouTube video asked for (`youtube:<id>`), because the caller chose the page; this is the only way a
   * page that yt-dlp's YouTube extractor did not read becomes YouTube media, so it never leaves loopback.
   * Default: `https://www.youtube.com/watch?v=<id>` read by the YouTube extractor.
   */
  watchPage?: (id: string) => string;
}

/**
 * The extractors the YouTube engine lets yt-dlp use by default: `youtube` (watch pages, youtu.be, music
 * and shorts links) and `youtube:search` (`ytsearchN:`). Not `generic`, which fetches any URL.
 */
export const defaultYoutubeExtractors: readonly string[] = Object.freeze(['youtube', 'youtube:search']);

const loopbackHosts = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** The stand-in watch page for `id`, checked: a valid video id, and an http(s) URL on loopback. */
function standInWatchPage(watchPage: (id: string) => string, id: string): string {
  if (!/^[A-Za-z0-9_-]{11}$/.test(id)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `youtube: ${JSON.stringify(id)} is not a video id`,
      {
        retryable: false,
      },
    );
  }
  const page = watchPage(id);
  let parsed: URL | undefined;
  try {
    parsed = new URL(page);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !/^https?:$/.test(parsed.protocol) || !loopbackHosts.has(parsed.hostname)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      'youtube: the watchPage setting must give an http(s) URL on loopback (127.0.0.1, ::1, localhost); it stands in for YouTube in tests and offline demos only',
      { retryable: false },
    );
  }
  return page;
}

/** What a stand-in watch page gave, as the YouTube video `id` it stands in for. */
function asYoutubeVideo(extracted: ExtractedMedia, id: string): ExtractedMedia {
  const mediaId = `youtube:${id}`;
  const url = `https://www.youtube.com/watch?v=${id}`;
  return {
    ...extracted,
    candidate: { ...extracted.candidate, mediaId, id, url },
    media: { ...extracted.media, id: mediaId, platform: 'youtube', pageUrl: url },
  };
}

function levelOf(line: string): LogLevel {
  if (line.startsWith('ERROR:')) return 'error';
  if (line.startsWith('WARNING:')) return 'warn';
  return 'debug';
}

/**
 * YouTube through yt-dlp (run with execa, argument arrays): flat search (`ytsearchN:`), search by ISRC,
 * and full extraction (`-J`) into formats with codecs, sizes, the chosen video+audio pair, headers and
 * link expiry. Art tracks ("… - Topic", parsed `track`/`artists`/`album`) are recognized. The process is
 * killed when the call's signal aborts, on timeout, and on `close()`.
 */
export function createYoutubeEngine(settings: YoutubeSettings = {}): VideoEngine {
  const env = settings.env ?? process.env;
  const format = settings.format ?? 'bv*+ba/b';
  const searchLimit = settings.searchLimit ?? 10;
  const searchTarget =
    settings.searchTarget ?? ((query: string, limit: number) => `ytsearch${limit}:${query}`);
  const isrcQuery = settings.isrcQuery ?? ((isrc: string) => `"${isrc}"`);
  const extractors = (settings.extractors ?? defaultYoutubeExtractors).join(',');
  const running = new Set<ResultPromise>();
  const closeController = new AbortController();

  async function run(
    args: string[],
    target: string,
    timeoutMs: number,
    call: EngineCallOptions,
  ): Promise<unknown> {
    if (closeController.signal.aborted) {
      throw new NexStreamError(NexStreamErrorCode.Aborted, 'youtube: the engine is closed', {
        retryable: false,
      });
    }
    if (call.signal?.aborted) {
      throw new NexStreamError(NexStreamErrorCode.Aborted, `yt-dlp on ${target}: aborted`, {
        cause: call.signal.reason,
        retryable: false,
      });
    }
    const program = await locateProgram('yt-dlp', {
      ...(settings.binaryPath ? { path: settings.binaryPath } : {}),
      env,
    });
    const cancelSignal = call.signal
      ? AbortSignal.any([call.signal, closeController.signal])
      : closeController.signal;
    const fullArgs = [
      '--ignore-config',
      '--no-progress',
      '--use-extractors',
      extractors,
      '--socket-timeout',
      String(settings.socketTimeoutS ?? 15),
      ...(settings.extraArgs ?? []),
      ...args,
      '--',
      target,
    ];
    const subprocess = execa(program.path, fullArgs, {
      cancelSignal,
      timeout: timeoutMs,
      forceKillAfterDelay: 2_000,
      reject: false,
      stdin: 'ignore',
      maxBuffer: 256 * 1024 * 1024,
      env: { ...env, PYTHONUNBUFFERED: '1' },
      extendEnv: false,
    });
    running.add(subprocess);
    let pending = '';
    subprocess.stderr?.on('data', (chunk: Buffer) => {
      if (!call.onLog) return;
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        call.onLog({ type: 'log', level: levelOf(line), source: 'yt-dlp', message: line, at: Date.now() });
      }
    });
    try {
      const result = await subprocess;
      if (result.isCanceled) {
        throw new NexStreamError(
          NexStreamErrorCode.Aborted,
          `yt-dlp on ${target}: aborted${closeController.signal.aborted ? ' (engine closed)' : ''}; the process was killed`,
          { cause: call.signal?.reason, retryable: false },
        );
      }
      if (result.timedOut) {
        throw new NexStreamError(
          NexStreamErrorCode.Timeout,
          `yt-dlp on ${target}: no answer within ${timeoutMs} ms; the process was killed, try again`,
          { retryable: true },
        );
      }
      const stderr = String(result.stderr ?? '');
      if (result.exitCode !== 0) throw ytDlpError(stderr, result.exitCode, target);
      try {
        return JSON.parse(String(result.stdout));
      } catch (cause) {
        throw new NexStreamError(
          NexStreamErrorCode.ProcessFailed,
          `yt-dlp on ${target} printed no readable JSON (${(cause as Error).message})`,
          {
            cause,
            retryable: false,
            details: { stderrTail: stderr.split('\n').slice(-stderrTailLines).join('\n') },
          },
        );
      }
    } finally {
      running.delete(subprocess);
    }
  }

  async function search(
    query: string,
    limit: number,
    call: EngineCallOptions,
    foundByIsrc?: string,
  ): Promise<VideoCandidate[]> {
    const target = searchTarget(query, Math.max(1, Math.min(50, limit)));
    const output = await unlessNotFound(
      run(['-J', '--flat-playlist'], target, settings.searchTimeoutMs ?? 30_000, call),
      null,
    );
    return output === null ? [] : parseYtDlpSearch(output, 'youtube', foundByIsrc);
  }

  return {
    kind: 'video',
    id: 'youtube',
    tier: 0,
    capabilities: ['search', 'isrc-search', 'extract'],
    async doSearchVideos({ query, limit, signal, onLog }) {
      const trimmed = text(query);
      if (!trimmed) {
        throw new NexStreamError(NexStreamErrorCode.InvalidInput, 'youtube: the search query is empty', {
          retryable: false,
        });
      }
      return search(trimmed, limit ?? searchLimit, { signal, onLog });
    },
    async doSearchByIsrc({ isrc, limit, signal, onLog }) {
      const wanted = requireIsrc(isrc, 'youtube');
      return search(isrcQuery(wanted), limit ?? 5, { signal, onLog }, wanted);
    },
    async doExtract({ id, url, format: selector, signal, onLog }): Promise<ExtractedMedia> {
      const standIn = !url && id && settings.watchPage ? standInWatchPage(settings.watchPage, id) : undefined;
      const target = url ?? standIn ?? (id ? `https://www.youtube.com/watch?v=${id}` : undefined);
      if (!target) {
        throw new NexStreamError(NexStreamErrorCode.InvalidInput, 'youtube: doExtract needs an id or a url', {
          retryable: false,
        });
      }
      const output = await run(
        ['-J', '--no-playlist', '-f', selector ?? format],
        target,
        settings.extractTimeoutMs ?? 60_000,
        { signal, onLog },
      );
      const extracted = parseYtDlpVideo(output, 'youtube');
      if (!extracted || extracted.media.formats.length === 0) {
        throw new NexStreamError(
          NexStreamErrorCode.ProcessFailed,
          `yt-dlp on ${target}: the JSON has no id, title or playable format`,
          { retryable: false },
        );
      }
      return standIn && id ? asYoutubeVideo(extracted, id) : extracted;
    },
    async close() {
      closeController.abort(new Error('engine closed'));
      await Promise.allSettled([...running]);
    },
  };
}
