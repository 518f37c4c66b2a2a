import { NexStreamError, NexStreamErrorCode, type NexStreamEvent } from '@nexstream/core';
import type { ReplayServer } from '@nexstream/testkit';
import type { ExtractedMedia, VideoCandidate, VideoEngine, VideoFormat } from '../src/engine.js';

/** The ISRC, Deezer id and duration of the fixture track (`__fixtures__/deezer/track-isrc.json`). */
export const fixtureTrack = {
  isrc: 'GBDUW0000059',
  deezerId: '3135556',
  durationMs: 224_000,
  link: 'https://www.deezer.com/track/3135556',
} as const;

/** Search results as yt-dlp's flat search maps them, for the fixture track. */
export const videos = {
  /** The label's auto-generated upload: verified when found by the ISRC. */
  artTrack: {
    engine: 'youtube',
    mediaId: 'youtube:GDpmVUEjagg',
    id: 'GDpmVUEjagg',
    url: 'https://www.youtube.com/watch?v=GDpmVUEjagg',
    title: 'Harder, Better, Faster, Stronger',
    channel: 'Daft Punk - Topic',
    durationMs: 224_000,
    viewCount: 48_000_000,
    artTrack: { title: 'Harder, Better, Faster, Stronger', artists: ['Daft Punk'], album: 'Discovery' },
  },
  /** The artist's own upload of the audio: exact. */
  officialAudio: {
    engine: 'youtube',
    mediaId: 'youtube:yydNF8tuVmU',
    id: 'yydNF8tuVmU',
    url: 'https://www.youtube.com/watch?v=yydNF8tuVmU',
    title: 'Daft Punk - Harder, Better, Faster, Stronger (Official Audio)',
    channel: 'Daft Punk',
    channelVerified: true,
    durationMs: 224_000,
    viewCount: 12_000_000,
  },
  /** A lyric upload on a fan channel, 6 s off: fuzzy. */
  lyricUpload: {
    engine: 'youtube',
    mediaId: 'youtube:x84m3YyO2oU',
    id: 'x84m3YyO2oU',
    url: 'https://www.youtube.com/watch?v=x84m3YyO2oU',
    title: 'Daft Punk - Harder Better Faster Stronger (Lyrics)',
    channel: 'Vibe Lyrics',
    durationMs: 230_000,
    viewCount: 900_000,
  },
  /** A concert recording: rejected. */
  live: {
    engine: 'youtube',
    mediaId: 'youtube:K2cYWfq--Nw',
    id: 'K2cYWfq--Nw',
    url: 'https://www.youtube.com/watch?v=K2cYWfq--Nw',
    title: 'Daft Punk - Harder Better Faster Stronger (Live at Alive 2007)',
    channel: 'Daft Punk',
    durationMs: 336_000,
    viewCount: 3_000_000,
  },
  /** A piano cover: rejected. */
  cover: {
    engine: 'youtube',
    mediaId: 'youtube:3zWqjJbOvD8',
    id: '3zWqjJbOvD8',
    url: 'https://www.youtube.com/watch?v=3zWqjJbOvD8',
    title: 'Harder Better Faster Stronger - Piano Cover',
    channel: 'Keys Hero',
    durationMs: 221_000,
    viewCount: 200_000,
  },
} satisfies Record<string, VideoCandidate>;

/** One scripted answer of the fake video engine. `hang`: never answers until aborted. */
export interface ScriptedAnswer {
  latencyMs?: number;
  candidates?: VideoCandidate[];
  error?: NexStreamError;
  hang?: boolean;
}

/** A record of one call to the fake video engine. */
export interface VideoCall {
  method: 'search' | 'isrc' | 'extract';
  argument: string;
  startedAt: number;
  /** Set when the call's signal aborted before it answered. */
  aborted: boolean;
  settled: boolean;
}

function wait<T>(
  latencyMs: number,
  signal: AbortSignal | undefined,
  value: () => T,
  hang = false,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      if (timer) clearTimeout(timer);
      reject(new NexStreamError(NexStreamErrorCode.Aborted, 'aborted', { cause: signal?.reason }));
    };
    if (signal?.aborted) return abort();
    const timer = hang
      ? undefined
      : setTimeout(() => {
          signal?.removeEventListener('abort', abort);
          try {
            resolve(value());
          } catch (error) {
            reject(error);
          }
        }, latencyMs);
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/** Formats as the YouTube engine extracts them, with links expiring at `expiresAt`. */
export function formatsFor(id: string, expiresAt: number, generation = 1): VideoFormat[] {
  const expire = Math.floor(expiresAt / 1000);
  return [
    {
      id: '137',
      container: 'mp4',
      videoCodec: 'avc1.640028',
      width: 1920,
      height: 1080,
      url: `https://rr1.googlevideo.example/videoplayback?id=${id}&itag=137&g=${generation}&expire=${expire}`,
      expiresAt: expire * 1000,
      protocol: 'https',
    },
    {
      id: '140',
      container: 'm4a',
      audioCodec: 'mp4a.40.2',
      url: `https://rr1.googlevideo.example/videoplayback?id=${id}&itag=140&g=${generation}&expire=${expire}`,
      expiresAt: expire * 1000,
      protocol: 'https',
    },
  ];
}

/**
 * Our own VideoEngine implementation with scripted answers and latencies (an object of ours, injected: the
 * race only knows the interface). Honours every call's signal and records whether it was aborted.
 */
export function createScriptedVideoEngine(script: {
  isrc?: (isrc: string) => ScriptedAnswer;
  search?: (query: string) => ScriptedAnswer;
  extractLatencyMs?: number;
  expiresInMs?: number;
  known?: VideoCandidate[];
}): VideoEngine & { calls: VideoCall[]; inFlight(): number } {
  const calls: VideoCall[] = [];
  let generation = 0;
  const answer = (
    method: VideoCall['method'],
    argument: string,
    scripted: ScriptedAnswer,
    signal: AbortSignal | undefined,
  ): Promise<VideoCandidate[]> => {
    const call: VideoCall = {
      method,
      argument,
      startedAt: performance.now(),
      aborted: false,
      settled: false,
    };
    calls.push(call);
    const onAbort = () => {
      if (!call.settled) call.aborted = true;
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    return wait(
      scripted.latencyMs ?? 0,
      signal,
      () => {
        if (scripted.error) throw scripted.error;
        return (scripted.candidates ?? []).map((candidate) => ({ ...candidate }));
      },
      scripted.hang,
    ).finally(() => {
      call.settled = true;
      signal?.removeEventListener('abort', onAbort);
    });
  };
  const known = new Map<string, VideoCandidate>(
    [...Object.values(videos), ...(script.known ?? [])].map((candidate) => [candidate.url, candidate]),
  );
  return {
    kind: 'video',
    id: 'youtube',
    tier: 0,
    capabilities: ['search', 'isrc-search', 'extract'],
    calls,
    inFlight: () => calls.filter((call) => !call.settled).length,
    doSearchByIsrc({ isrc, signal }) {
      const scripted = script.isrc?.(isrc) ?? { candidates: [] };
      return answer('isrc', isrc, scripted, signal).then((found) =>
        found.map((candidate) => ({ ...candidate, foundByIsrc: isrc })),
      );
    },
    doSearchVideos({ query, signal }) {
      return answer('search', query, script.search?.(query) ?? { candidates: [] }, signal);
    },
    async doExtract({ id, url, signal }): Promise<ExtractedMedia> {
      const target = url ?? `https://www.youtube.com/watch?v=${id}`;
      const candidate = known.get(target);
      await answer('extract', target, { latencyMs: script.extractLatencyMs ?? 0, candidates: [] }, signal);
      if (!candidate) {
        throw new NexStreamError(NexStreamErrorCode.NotFound, `no such video ${target}`, {
          retryable: false,
        });
      }
      generation += 1;
      const expiresAt = Date.now() + (script.expiresInMs ?? 6 * 3600_000);
      const { foundByIsrc: _found, ...plain } = candidate;
      const formats = formatsFor(candidate.id, expiresAt, generation);
      return {
        candidate: plain,
        media: {
          id: candidate.mediaId,
          platform: 'youtube',
          pageUrl: candidate.url,
          title: candidate.title,
          ...(candidate.channel ? { channel: candidate.channel } : {}),
          ...(candidate.durationMs ? { durationMs: candidate.durationMs } : {}),
          formats,
          preferred: { videoFormatId: '137', audioFormatId: '140' },
          expiresAt: formats[0]!.expiresAt!,
        },
      };
    },
    async close() {},
  };
}

/** Routes the Deezer fixture track on the replay server (`/track/isrc:…` and `/track/<id>`). */
export function routeDeezerTrack(server: ReplayServer, body: unknown, latencyMs = 0): void {
  server.on('GET', `/track/isrc:${fixtureTrack.isrc}`, { json: body, latencyMs });
  server.on('GET', `/track/${fixtureTrack.deezerId}`, { json: body, latencyMs });
}

/** Collects a session's events with the time each arrived (ms since `origin`). */
export async function collect(
  session: AsyncIterable<NexStreamEvent>,
  origin = performance.now(),
): Promise<Array<NexStreamEvent & { receivedMs: number }>> {
  const events: Array<NexStreamEvent & { receivedMs: number }> = [];
  for await (const event of session) events.push({ ...event, receivedMs: performance.now() - origin });
  return events;
}

/** Index of the first event of a type, or -1. */
export function indexOfType(events: ReadonlyArray<{ type: string }>, type: string): number {
  return events.findIndex((event) => event.type === type);
}
