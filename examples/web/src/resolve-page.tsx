import type {
  CandidateEvent,
  LogEvent,
  MatchGrade,
  MediaSource,
  NexStreamEvent,
  SettledEvent,
  TrackMetadata,
} from '@nexstream/core';
import { type FormEvent, useEffect, useReducer, useRef, useState } from 'react';
import { type ApiError, describeError, formatDuration, withKey } from './api';
import { DownloadPanel } from './download-panel';

interface ResolveState {
  status: 'idle' | 'resolving' | 'settled' | 'done' | 'failed';
  track?: TrackMetadata;
  /** Engines that gave metadata, in order. */
  sources: string[];
  isrcVerified: boolean;
  candidates: CandidateEvent[];
  settled?: SettledEvent;
  media?: MediaSource;
  /** Log events, numbered in arrival order (`seq`, the React key). */
  logs: Array<LogEvent & { seq: number }>;
  logSeq: number;
  error?: ApiError;
  elapsedMs?: number;
}

const initial: ResolveState = {
  status: 'idle',
  sources: [],
  isrcVerified: false,
  candidates: [],
  logs: [],
  logSeq: 0,
};

type Action = { type: 'start' } | { type: 'event'; event: NexStreamEvent } | { type: 'connection-lost' };

/** Merges metadata from several engines: the first answer shows at once, later ones fill the gaps. */
function mergeTrack(current: TrackMetadata | undefined, next: TrackMetadata): TrackMetadata {
  if (!current) return next;
  return {
    ...next,
    ...current,
    album: current.album ?? next.album,
    isrc: current.isrc ?? next.isrc,
    durationMs: current.durationMs ?? next.durationMs,
    coverArt: { ...next.coverArt, ...current.coverArt },
    ids: { ...next.ids, ...current.ids },
  };
}

function reducer(state: ResolveState, action: Action): ResolveState {
  if (action.type === 'start') return { ...initial, status: 'resolving' };
  if (action.type === 'connection-lost') {
    return state.status === 'resolving'
      ? {
          ...state,
          status: 'failed',
          error: { code: 'NXS_UPSTREAM', message: 'the connection to the server was lost' },
        }
      : state;
  }
  const { event } = action;
  switch (event.type) {
    case 'metadata':
      return {
        ...state,
        track: mergeTrack(
          state.track,
          event.authoritative && event.track.isrc ? event.track : { ...event.track },
        ),
        sources: state.sources.includes(event.engine) ? state.sources : [...state.sources, event.engine],
        isrcVerified: state.isrcVerified || event.authoritative,
      };
    case 'candidate':
      return {
        ...state,
        candidates: [
          ...state.candidates.filter((item) => item.candidate.mediaId !== event.candidate.mediaId),
          event,
        ].sort((a, b) => b.score - a.score),
      };
    case 'log':
      return {
        ...state,
        logs: [...state.logs.slice(-400), { ...event, seq: state.logSeq + 1 }],
        logSeq: state.logSeq + 1,
      };
    case 'settled':
      return {
        ...state,
        status: 'settled',
        settled: event,
        track: mergeTrack(event.track, state.track ?? event.track),
      };
    case 'media':
      return { ...state, media: event.media };
    case 'error':
      return { ...state, status: 'failed', error: event.error };
    case 'done':
      return { ...state, status: state.status === 'failed' ? 'failed' : 'done', elapsedMs: event.elapsedMs };
    default:
      return state;
  }
}

const eventNames = ['metadata', 'candidate', 'progress', 'log', 'settled', 'media', 'error', 'done'] as const;
const gradeText: Record<MatchGrade, string> = {
  verified: 'ISRC-verified',
  exact: 'exact',
  strong: 'strong',
  fuzzy: 'fuzzy',
  rejected: 'rejected',
};

/**
 * The Resolve page: paste a link, watch the metadata arrive, the candidates being scored and the match
 * settling (events over SSE; `EventSource` reconnects with `Last-Event-ID` and the server replays), pick another
 * candidate, then download.
 */
export function ResolvePage({ exampleLink }: { exampleLink: string | null }) {
  const [input, setInput] = useState('');
  const [state, dispatch] = useReducer(reducer, initial);
  const source = useRef<EventSource | null>(null);
  const logEnd = useRef<HTMLDivElement | null>(null);

  const stop = () => {
    source.current?.close();
    source.current = null;
  };
  useEffect(() => () => source.current?.close(), []);
  const logCount = state.logs.length;
  useEffect(() => {
    if (logCount > 0) logEnd.current?.scrollIntoView({ block: 'nearest' });
  }, [logCount]);

  const resolve = (text: string, override?: string) => {
    stop();
    dispatch({ type: 'start' });
    const params = new URLSearchParams({ input: text, stream: crypto.randomUUID() });
    if (override) params.set('override', override);
    const events = new EventSource(withKey(`/api/resolve?${params}`));
    source.current = events;
    for (const name of eventNames) {
      events.addEventListener(name, (message) => {
        // The connection's own 'error' (no data) is not the resolution's `error` event.
        if (!(message instanceof MessageEvent) || typeof message.data !== 'string') {
          if (events.readyState === EventSource.CLOSED) dispatch({ type: 'connection-lost' });
          return;
        }
        const event = JSON.parse(message.data) as NexStreamEvent;
        dispatch({ type: 'event', event });
        if (event.type === 'done') stop();
      });
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (input.trim()) resolve(input.trim());
  };

  const { track, settled } = state;
  const cover = track?.coverArt?.medium ?? track?.coverArt?.large ?? track?.coverArt?.small;
  const busy = state.status === 'resolving';

  return (
    <section aria-labelledby="resolve-title">
      <h1 id="resolve-title">Resolve a track</h1>
      <form className="paste" onSubmit={submit}>
        <label htmlFor="input" className="visually-hidden">
          Link, ISRC or search text
        </label>
        <input
          id="input"
          name="input"
          value={input}
          onChange={(event) => setInput(event.target.value)}
          placeholder="Paste a Spotify, Deezer, Apple Music or YouTube link, an ISRC, or “artist – title”"
          autoComplete="off"
          spellCheck={false}
        />
        <button type="submit" disabled={!input.trim()}>
          {busy ? 'Resolving…' : 'Resolve'}
        </button>
        {busy && (
          <button
            type="button"
            className="secondary"
            onClick={() => {
              stop();
              dispatch({
                type: 'event',
                event: {
                  type: 'error',
                  error: { code: 'NXS_ABORTED', message: 'cancelled', retryable: false },
                },
              });
            }}
          >
            Cancel
          </button>
        )}
      </form>
      {exampleLink && state.status === 'idle' && (
        <p className="hint">
          Demo mode: try{' '}
          <button
            type="button"
            className="link"
            onClick={() => {
              setInput(exampleLink);
              resolve(exampleLink);
            }}
          >
            {exampleLink}
          </button>
        </p>
      )}

      {state.error && (
        <p className="error" role="alert">
          {describeError(state.error)} <span className="detail">({state.error.code})</span>
        </p>
      )}

      {track && (
        <article className="card track" data-testid="metadata-card" aria-live="polite">
          {cover ? (
            <img
              src={cover}
              alt={`Cover of ${track.album ?? track.title}`}
              width={120}
              height={120}
              onError={(event) => {
                event.currentTarget.style.visibility = 'hidden';
              }}
            />
          ) : (
            <div className="cover-placeholder" aria-hidden="true">
              ♪
            </div>
          )}
          <div>
            <h2>{track.title}</h2>
            <p className="artists">{track.artists.join(', ')}</p>
            <dl>
              <dt>Album</dt>
              <dd>{track.album ?? '–'}</dd>
              <dt>Duration</dt>
              <dd>{formatDuration(track.durationMs)}</dd>
              <dt>ISRC</dt>
              <dd>
                {track.isrc ?? '–'}{' '}
                {track.isrc &&
                  (state.isrcVerified ? (
                    <span className="badge ok">authoritative</span>
                  ) : (
                    <span className="badge">hint</span>
                  ))}
              </dd>
              <dt>Sources</dt>
              <dd>{state.sources.join(', ')}</dd>
            </dl>
            <p className="match" data-testid="match-status">
              {settled ? (
                <>
                  Match: <strong>{settled.mediaId}</strong> — {gradeText[settled.grade]} via {settled.via} in{' '}
                  {(settled.elapsedMs / 1000).toFixed(1)} s
                </>
              ) : busy ? (
                <span className="pending">Finding the matching video…</span>
              ) : null}
            </p>
          </div>
        </article>
      )}

      {state.candidates.length > 0 && (
        <section className="card" aria-labelledby="candidates-title">
          <h2 id="candidates-title">Candidates</h2>
          <ol className="candidates">
            {state.candidates.map((item) => {
              const chosen = settled?.mediaId === item.candidate.mediaId;
              return (
                <li key={item.candidate.mediaId} className={chosen ? 'chosen' : ''}>
                  <div
                    className="score"
                    title={Object.entries(item.parts)
                      .map(([name, value]) => `${name}: ${value}`)
                      .join('\n')}
                  >
                    <meter min={0} max={1} value={Math.max(0, item.score)} aria-label="score" />
                    <span>{item.score.toFixed(2)}</span>
                  </div>
                  <div className="candidate-text">
                    <strong>{item.candidate.title}</strong>
                    <span className="muted">
                      {item.candidate.channel ? `${item.candidate.channel} · ` : ''}
                      {formatDuration(item.candidate.durationMs)} · {gradeText[item.grade]} · {item.engine}
                    </span>
                    <span className="reason">{item.reason}</span>
                  </div>
                  {chosen ? (
                    <span className="badge ok">chosen</span>
                  ) : (
                    <button
                      type="button"
                      className="secondary"
                      disabled={busy}
                      onClick={() => resolve(input.trim(), item.candidate.url)}
                    >
                      Use this one
                    </button>
                  )}
                </li>
              );
            })}
          </ol>
        </section>
      )}

      {state.media && settled && <DownloadPanel media={state.media} track={track ?? settled.track} />}

      {(state.logs.length > 0 || busy) && (
        <section className="terminal" aria-label="Telemetry">
          <h2>Telemetry</h2>
          <div className="terminal-body" role="log" aria-live="off">
            {state.logs.map((log) => (
              <div key={log.seq} className={`line ${log.level}`}>
                <span className="time">{new Date(log.at).toLocaleTimeString()}</span>{' '}
                <span className="source">[{log.source}]</span> {log.message}
              </div>
            ))}
            {state.elapsedMs !== undefined && (
              <div className="line info">— finished in {(state.elapsedMs / 1000).toFixed(1)} s</div>
            )}
            <div ref={logEnd} />
          </div>
        </section>
      )}
    </section>
  );
}
