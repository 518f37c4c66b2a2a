import { createRequire } from 'node:module';
import type { LogEvent } from '@nexstream/core';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { Innertube, YTNodes } from 'youtubei.js';
import type { EngineCallOptions, VideoCandidate, VideoEngine } from '../../engine.js';
import { type FetchFunction, redactUrl, requestDeadline, serviceStatusError } from '../shared/http-client.js';
import { unlessNotFound } from '../shared/not-found.js';
import { requireIsrc, text } from '../shared/track-fields.js';
import { type MusicSearchEntry, type MusicTextRun, mapMusicSearch } from './youtube-music-format.js';

// Every youtubei.js import of the resolver lives in this file (types above, the module loaded lazily below),
// so a change of InnerTube or of youtubei.js touches this file and nothing else.

/** Settings for {@link createYoutubeMusicEngine}. No key or account is needed. */
export interface YoutubeMusicSettings {
  /**
   * Where every InnerTube request goes. youtubei.js builds `https://www.youtube.com/youtubei/v1/…` URLs; the
   * engine's fetch replaces their origin with this one (tests point it at the replay server). Default
   * `https://music.youtube.com`.
   */
  baseURL?: string;
  /** A WHATWG `fetch` to send requests with (a proxy, a recorder). Default the global `fetch`. */
  fetch?: FetchFunction;
  /** Deadline per request (headers and body), in ms. Default 10000. */
  timeoutMs?: number;
  /** Interface language sent as `hl`. Counts (`3.6M plays`) are read in English, so keep `en`. Default `en`. */
  lang?: string;
  /** Country sent as `gl`; YouTube Music's catalogue differs by country. Default `US`. */
  location?: string;
  /**
   * InnerTube visitor data (`Cgt…`), the anonymous visitor's id. Default: one made locally when the engine
   * first searches and kept for the engine's lifetime (no request is spent on it).
   */
  visitorData?: string;
  /** Results per search (songs and videos each). Default 10, at most 50. */
  searchLimit?: number;
  /** What is searched for an ISRC. Default `"<ISRC>"` (quoted, so YouTube Music matches it exactly). */
  isrcQuery?: (isrc: string) => string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

type YoutubeiModule = typeof import('youtubei.js');
type MusicSearchPage = Awaited<ReturnType<Innertube['music']['search']>>;
type ResponsiveItem = YTNodes.MusicResponsiveListItem;

const engineId = 'youtube-music';
let youtubeiModule: Promise<YoutubeiModule> | undefined;

/** Loads youtubei.js on first use: importing it costs about half a second and 60 MB, so only users pay it. */
function loadYoutubei(): Promise<YoutubeiModule> {
  youtubeiModule ??= import('youtubei.js').catch((cause: unknown) => {
    youtubeiModule = undefined;
    throw new NexStreamError(
      NexStreamErrorCode.DependencyMissing,
      `youtube-music: youtubei.js could not be loaded (${(cause as Error).message}); reinstall @nexstream/resolver`,
      { cause, retryable: false },
    );
  });
  return youtubeiModule;
}

function youtubeiVersion(): string {
  try {
    return (createRequire(import.meta.url)('youtubei.js/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** A NexStreamError for an InnerTube body that youtubei.js or the mapper could not read. */
function shapeChanged(where: string, cause: unknown): NexStreamError {
  const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  return new NexStreamError(
    NexStreamErrorCode.Upstream,
    `youtube-music: ${where}: the InnerTube response has a shape youtubei.js ${youtubeiVersion()} cannot read (${reason}); shape changed: update youtubei.js`,
    { cause, retryable: false, details: { service: engineId, reason: 'shape-changed' } },
  );
}

const consentPattern = /consent\.(youtube|google)\.[a-z.]+|Before you continue to YouTube/i;

function runsOf(value: unknown): MusicTextRun[] {
  const runs = (value as { runs?: unknown } | undefined)?.runs;
  if (!Array.isArray(runs)) return [];
  return runs.map((run: { text?: unknown; endpoint?: { payload?: Record<string, unknown> } }) => {
    const payload = run.endpoint?.payload ?? {};
    const result: MusicTextRun = { text: typeof run.text === 'string' ? run.text : '' };
    const browseId = text(payload.browseId);
    if (browseId) result.browseId = browseId;
    const pageType = text(
      (
        payload.browseEndpointContextSupportedConfigs as
          | { browseEndpointContextMusicConfig?: { pageType?: unknown } }
          | undefined
      )?.browseEndpointContextMusicConfig?.pageType,
    );
    if (pageType) result.pageType = pageType;
    return result;
  });
}

/** The `watchEndpoint` of a navigation endpoint: the video id and InnerTube's `musicVideoType`. */
function watchTarget(endpoint: { payload?: Record<string, unknown> } | undefined): {
  videoId?: string;
  musicVideoType?: string;
} {
  const payload = endpoint?.payload ?? {};
  const config = (
    payload.watchEndpointMusicSupportedConfigs as
      | { watchEndpointMusicConfig?: { musicVideoType?: unknown } }
      | undefined
  )?.watchEndpointMusicConfig;
  const target: { videoId?: string; musicVideoType?: string } = {};
  const videoId = text(payload.videoId);
  if (videoId) target.videoId = videoId;
  const musicVideoType = text(config?.musicVideoType);
  if (musicVideoType) target.musicVideoType = musicVideoType;
  return target;
}

function thumbnailsOf(node: { contents?: unknown } | null | undefined): MusicSearchEntry['thumbnails'] {
  const thumbnails = node?.contents;
  if (!Array.isArray(thumbnails)) return [];
  return thumbnails
    .filter((thumbnail): thumbnail is { url: string; width?: number; height?: number } =>
      Boolean(text((thumbnail as { url?: unknown }).url)),
    )
    .map(({ url, width, height }) => ({ url, width, height }));
}

function badgesOf(badges: unknown): string[] {
  if (!Array.isArray(badges)) return [];
  return badges
    .map((badge) => text((badge as { icon_type?: unknown }).icon_type))
    .filter((icon): icon is string => icon !== undefined);
}

function itemEntry(item: ResponsiveItem, topResult: boolean): MusicSearchEntry | undefined {
  const [titleColumn, detailColumn, ...extraColumns] = item.flex_columns;
  if (!titleColumn) return undefined;
  const titleRuns = titleColumn.title.runs as Array<{ endpoint?: { payload?: Record<string, unknown> } }>;
  const fromTitle = watchTarget(titleRuns?.[0]?.endpoint);
  const fromButton = watchTarget(item.overlay?.content?.endpoint);
  const videoId = fromTitle.videoId ?? fromButton.videoId ?? text(item.id);
  if (!videoId) return undefined;
  const entry: MusicSearchEntry = {
    videoId,
    title: titleColumn.title.toString(),
    detailRuns: runsOf(detailColumn?.title),
    extraRuns: [...extraColumns, ...item.fixed_columns].flatMap((column) => runsOf(column.title)),
    badges: badgesOf(item.badges),
    thumbnails: thumbnailsOf(item.thumbnail),
    topResult,
  };
  const musicVideoType = fromTitle.musicVideoType ?? fromButton.musicVideoType;
  if (musicVideoType) entry.musicVideoType = musicVideoType;
  return entry;
}

function cardEntry(card: YTNodes.MusicCardShelf): MusicSearchEntry | undefined {
  const titleRuns = card.title.runs as
    | Array<{ endpoint?: { payload?: Record<string, unknown> } }>
    | undefined;
  const fromTitle = watchTarget(titleRuns?.[0]?.endpoint);
  const fromTap = watchTarget(card.on_tap);
  const videoId = fromTitle.videoId ?? fromTap.videoId;
  if (!videoId) return undefined;
  const entry: MusicSearchEntry = {
    videoId,
    title: card.title.toString(),
    detailRuns: runsOf(card.subtitle),
    extraRuns: [],
    badges: badgesOf(card.subtitle_badges),
    thumbnails: thumbnailsOf(card.thumbnail),
    topResult: true,
  };
  const musicVideoType = fromTitle.musicVideoType ?? fromTap.musicVideoType;
  if (musicVideoType) entry.musicVideoType = musicVideoType;
  return entry;
}

/**
 * The playable entries of a parsed search page in InnerTube's order: the top-result card and the items
 * under it, then every shelf's items.
 */
function entriesOf(page: MusicSearchPage, youtubei: YoutubeiModule): MusicSearchEntry[] {
  const { MusicCardShelf, MusicShelf, MusicResponsiveListItem } = youtubei.YTNodes;
  const entries: MusicSearchEntry[] = [];
  const push = (entry: MusicSearchEntry | undefined) => {
    if (entry) entries.push(entry);
  };
  for (const node of page.contents ?? []) {
    if (node.is(MusicCardShelf)) {
      push(cardEntry(node));
      for (const item of node.contents ?? []) {
        if (item.is(MusicResponsiveListItem)) push(itemEntry(item, false));
      }
    } else if (node.is(MusicShelf)) {
      for (const item of node.contents) push(itemEntry(item, false));
    }
  }
  return entries;
}

interface CallState extends EngineCallOptions {
  /** What the call is doing, for messages (`search "…" (songs)`). */
  what: string;
}

/**
 * YouTube Music through InnerTube, with youtubei.js in process (no Python start-up per search): song and
 * video searches and a search by ISRC. Each result carries its credited artists with channel ids, album with
 * id, duration, explicit badge, plays or views, InnerTube's result type (art track, official video, user
 * upload, episode), its rank and whether it was the top result. It does not extract streams: yt-dlp (the
 * YouTube engine) stays the extractor. Sessions are made locally, so a search costs exactly one request and no
 * request ever leaves for a host other than `baseURL`. A consent page, a 429 or a body youtubei.js cannot
 * read fails with a `NexStreamError` like the other engines' errors.
 *
 * @example
 * ```ts
 * const music = createYoutubeMusicEngine();
 * const found = await music.doSearchByIsrc({ isrc: 'GBDUW0000059' });
 * console.log(found[0]?.resultType, found[0]?.credits, found[0]?.album);
 * ```
 */
export function createYoutubeMusicEngine(settings: YoutubeMusicSettings = {}): VideoEngine {
  const baseURL = new URL(settings.baseURL ?? 'https://music.youtube.com');
  const basePath = baseURL.pathname.replace(/\/+$/, '');
  const timeoutMs = settings.timeoutMs ?? 10_000;
  const searchLimit = Math.max(1, Math.min(50, settings.searchLimit ?? 10));
  const isrcQuery = settings.isrcQuery ?? ((isrc: string) => `"${isrc}"`);
  const fetchImpl: FetchFunction = settings.fetch ?? ((input, init) => fetch(input, init));
  const closeController = new AbortController();
  let visitorData: Promise<string | undefined> | undefined;

  function log(call: CallState, level: LogEvent['level'], message: string): void {
    call.onLog?.({ type: 'log', level, source: engineId, message, at: Date.now() });
  }

  /** The URL youtubei.js asked for, moved to `baseURL` (same path and query). */
  function rewrite(url: string): string {
    const original = new URL(url);
    return `${baseURL.origin}${basePath}${original.pathname}${original.search}`;
  }

  /**
   * The fetch youtubei.js uses for one call: sends to `baseURL`, applies the call's signal and the deadline,
   * never follows redirects (a redirect is how Google sends visitors to its consent page), and turns every
   * failure into a NexStreamError before youtubei.js sees it.
   */
  function callFetch(call: CallState): typeof fetch {
    return async (input, init) => {
      const request = input instanceof Request ? input : undefined;
      const url = rewrite(request ? request.url : String(input));
      const shown = redactUrl(url);
      const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
      const headers = new Headers(init?.headers ?? request?.headers);
      // youtubei.js sets Origin to the host it thinks it calls; InnerTube checks it against the real one.
      if (headers.has('origin')) headers.set('origin', baseURL.origin);
      for (const [name, value] of Object.entries(settings.headers ?? {})) headers.set(name, value);
      let body = init?.body ?? undefined;
      if (body === undefined && request && method !== 'GET' && method !== 'HEAD') body = await request.text();
      const deadline = requestDeadline(timeoutMs, [call.signal, closeController.signal]);
      const { controller } = deadline;
      const failed = (error: unknown, phase: 'headers' | 'body'): NexStreamError => {
        if (deadline.timedOut()) {
          return new NexStreamError(
            NexStreamErrorCode.Timeout,
            `[${method}] "${shown}": no complete response within ${timeoutMs} ms; try again later or raise timeoutMs`,
            { cause: error, retryable: true },
          );
        }
        if (controller.signal.aborted) {
          return new NexStreamError(
            NexStreamErrorCode.Aborted,
            `[${method}] "${shown}": aborted${closeController.signal.aborted ? ' (engine closed)' : ''}`,
            { cause: controller.signal.reason ?? error, retryable: false },
          );
        }
        const code = (error as { cause?: { code?: unknown } }).cause?.code;
        return new NexStreamError(
          NexStreamErrorCode.Upstream,
          phase === 'body'
            ? `[${method}] "${shown}": the connection closed before the body was complete; try again`
            : `[${method}] "${shown}": request failed (${typeof code === 'string' ? code : (error as Error).message}); check the network or the baseURL`,
          { cause: error, retryable: true },
        );
      };
      try {
        if (controller.signal.aborted || call.signal?.aborted)
          throw call.signal?.reason ?? new Error('aborted');
        let response: Response;
        try {
          response = await fetchImpl(url, {
            method,
            headers,
            ...(body === undefined ? {} : { body: body as BodyInit }),
            redirect: 'manual',
            signal: controller.signal,
          });
        } catch (error) {
          throw failed(error, 'headers');
        }
        const details = { status: response.status, service: engineId };
        if (response.status >= 300 && response.status < 400) {
          await response.body?.cancel().catch(() => {});
          const location = response.headers.get('location') ?? '';
          if (consentPattern.test(location)) {
            throw new NexStreamError(
              NexStreamErrorCode.Upstream,
              `[${method}] "${shown}": redirected to Google's consent page (${redactUrl(location)}) instead of answering; YouTube Music wants cookie consent from this network (an EU address): set a CONSENT/SOCS cookie in headers, use another location, or fall back to the YouTube engine`,
              { retryable: false, details: { ...details, reason: 'consent' } },
            );
          }
          throw new NexStreamError(
            NexStreamErrorCode.Upstream,
            `[${method}] "${shown}": unexpected redirect ${response.status} to ${redactUrl(location) || '(no location)'}; InnerTube answers searches directly`,
            { retryable: false, details },
          );
        }
        let bodyText: string;
        try {
          bodyText = await response.text();
        } catch (error) {
          throw failed(error, 'body');
        }
        const failedResponse = () => ({
          method,
          url: shown,
          status: response.status,
          headers: Object.fromEntries(response.headers),
          text: bodyText,
        });
        if (response.status === 429) throw serviceStatusError(failedResponse(), { service: engineId });
        const contentType = response.headers.get('content-type') ?? '';
        if (/html/i.test(contentType) || /^\s*</.test(bodyText)) {
          const consent = consentPattern.test(bodyText) || consentPattern.test(response.url);
          throw new NexStreamError(
            NexStreamErrorCode.Upstream,
            consent
              ? `[${method}] "${shown}": ${response.status} with Google's consent page instead of JSON; YouTube Music wants cookie consent from this network (an EU address): set a CONSENT/SOCS cookie in headers, use another location, or fall back to the YouTube engine`
              : `[${method}] "${shown}": ${response.status} with an HTML page instead of JSON; InnerTube may be blocking this network, try again later`,
            { retryable: !consent, details: { ...details, reason: consent ? 'consent' : 'html' } },
          );
        }
        if (response.status < 200 || response.status >= 300) {
          throw serviceStatusError(failedResponse(), { service: engineId });
        }
        try {
          JSON.parse(bodyText);
        } catch (cause) {
          throw new NexStreamError(
            NexStreamErrorCode.Upstream,
            `[${method}] "${shown}": invalid JSON in a ${response.status} response (${(cause as Error).message}); the service sent a broken body, try again`,
            { cause, retryable: true, details },
          );
        }
        log(call, 'debug', `${method} ${shown}: ${response.status}, ${bodyText.length} bytes`);
        return new Response(bodyText, { status: response.status, headers: response.headers });
      } catch (error) {
        if (NexStreamError.is(error)) throw error;
        throw failed(error, 'headers');
      } finally {
        deadline.dispose();
      }
    };
  }

  /** youtubei.js session options that make a session locally: no `sw.js_data`, `/config` or player request. */
  const sessionOptions = {
    lang: settings.lang ?? 'en',
    location: settings.location ?? 'US',
    generate_session_locally: true,
    retrieve_player: false,
    retrieve_innertube_config: false,
    enable_session_cache: false,
  } as const;

  /** The visitor of every call: the configured one, else one youtubei.js makes locally, once per engine. */
  function visitorOf(youtubei: YoutubeiModule): Promise<string | undefined> {
    visitorData ??= settings.visitorData
      ? Promise.resolve(text(settings.visitorData))
      : youtubei.Innertube.create({
          ...sessionOptions,
          fetch: () => Promise.reject(new Error('a local session makes no request')),
        }).then((innertube) => text(innertube.session.context.client.visitorData));
    return visitorData;
  }

  /** A youtubei.js client for one call (cheap: a local session is a plain object, well under a millisecond). */
  async function client(youtubei: YoutubeiModule, call: CallState): Promise<Innertube> {
    const visitor = await visitorOf(youtubei);
    return youtubei.Innertube.create({
      ...sessionOptions,
      fetch: callFetch(call),
      ...(visitor ? { visitor_data: visitor } : {}),
    });
  }

  function aborted(call: CallState): NexStreamError {
    return new NexStreamError(
      NexStreamErrorCode.Aborted,
      `youtube-music: ${call.what}: aborted${closeController.signal.aborted ? ' (engine closed)' : ''}`,
      { cause: call.signal?.reason, retryable: false },
    );
  }

  async function search(
    query: string,
    type: 'song' | 'video',
    limit: number,
    call: CallState,
    foundByIsrc?: string,
  ): Promise<VideoCandidate[]> {
    if (closeController.signal.aborted || call.signal?.aborted) throw aborted(call);
    const youtubei = await loadYoutubei();
    let page: MusicSearchPage | null;
    try {
      const innertube = await client(youtubei, call);
      // A 404 is "not found": a search that finds nothing is `[]`, as for every engine.
      page = await unlessNotFound(innertube.music.search(query, { type }), null);
    } catch (error) {
      if (NexStreamError.is(error)) throw error;
      if (closeController.signal.aborted || call.signal?.aborted) throw aborted(call);
      throw shapeChanged(call.what, error);
    }
    if (call.signal?.aborted) throw aborted(call);
    if (page === null) return [];
    try {
      return mapMusicSearch(entriesOf(page, youtubei), {
        engine: engineId,
        limit,
        ...(foundByIsrc ? { foundByIsrc } : {}),
      });
    } catch (error) {
      throw shapeChanged(call.what, error);
    }
  }

  return {
    kind: 'video',
    id: engineId,
    tier: 0,
    capabilities: ['search', 'isrc-search'],
    async doSearchVideos({ query, limit, signal, onLog }) {
      const trimmed = text(query);
      if (!trimmed) {
        throw new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          'youtube-music: the search query is empty',
          {
            retryable: false,
          },
        );
      }
      const perSearch = Math.max(1, Math.min(50, limit ?? searchLimit));
      // Both searches share one signal: when one fails, the other is cancelled rather than left running.
      const both = new AbortController();
      const shared = signal ? AbortSignal.any([signal, both.signal]) : both.signal;
      const run = (type: 'song' | 'video', label: string) =>
        search(trimmed, type, perSearch, {
          signal: shared,
          onLog,
          what: `search "${trimmed}" (${label})`,
        }).catch((error: unknown) => {
          both.abort(error);
          throw error;
        });
      const settled = await Promise.allSettled([run('song', 'songs'), run('video', 'videos')]);
      const failure = settled.find(
        (result): result is PromiseRejectedResult =>
          result.status === 'rejected' &&
          !(
            NexStreamError.is(result.reason) &&
            result.reason.code === NexStreamErrorCode.Aborted &&
            !signal?.aborted
          ),
      );
      if (failure) throw failure.reason;
      const rejected = settled.find(
        (result): result is PromiseRejectedResult => result.status === 'rejected',
      );
      if (rejected) throw rejected.reason;
      const [songs, videos] = settled.map(
        (result) => (result as PromiseFulfilledResult<VideoCandidate[]>).value,
      );
      const seen = new Set(songs!.map((candidate) => candidate.id));
      return [...songs!, ...videos!.filter((candidate) => !seen.has(candidate.id))];
    },
    async doSearchByIsrc({ isrc, limit, signal, onLog }) {
      const wanted = requireIsrc(isrc, engineId);
      const perSearch = Math.max(1, Math.min(50, limit ?? 5));
      return search(
        isrcQuery(wanted),
        'song',
        perSearch,
        { signal, onLog, what: `ISRC search ${wanted}` },
        wanted,
      );
    },
    async doExtract() {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        'youtube-music: this engine only searches; extract the video with the YouTube engine (yt-dlp)',
        { retryable: false },
      );
    },
    async close() {
      closeController.abort(new Error('engine closed'));
    },
  };
}
