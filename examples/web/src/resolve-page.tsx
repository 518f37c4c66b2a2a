import type { NexStreamEvent } from '@nexstream/core';
import { type FormEvent, useEffect, useId, useReducer, useRef, useState } from 'react';
import { type ApiError, authHeaders, formatDuration, withKey } from './api';
import { DownloadPanel } from './download-panel';
import { ErrorMessage } from './resolve-error';
import {
  gradeWords,
  initialResolveState,
  isBusy,
  type ResolveState,
  resolveReducer,
  serviceName,
  stepWords,
} from './resolve-state';

const eventNames = ['metadata', 'candidate', 'progress', 'log', 'settled', 'media', 'error', 'done'] as const;

/** The query parameters that make a result shareable: `?q=<input>[&video=<picked video>]`. */
function readAddress(): { q: string; video?: string } {
  const params = new URLSearchParams(location.search);
  const video = params.get('video')?.trim();
  return { q: params.get('q')?.trim() ?? '', ...(video ? { video } : {}) };
}

/** Writes `?q=` (and `&video=`) into the address, keeping the path and the hash route (`/?q=…#/resolve`). */
function writeAddress(q: string, video?: string): void {
  const params = new URLSearchParams(location.search);
  params.set('q', q);
  if (video) params.set('video', video);
  else params.delete('video');
  const next = `${location.pathname}?${params}${location.hash || '#/resolve'}`;
  if (next !== `${location.pathname}${location.search}${location.hash}`)
    history.replaceState(history.state, '', next);
}

/**
 * Reads the JSON error of a refused event-stream request (a 400, 401 or 429 answers before any event, and
 * `EventSource` cannot read bodies). A 200 means the stream had opened after all: it is closed at once.
 */
async function refusal(url: string): Promise<ApiError | undefined> {
  const controller = new AbortController();
  try {
    const response = await fetch(url, { headers: authHeaders(), signal: controller.signal });
    if (response.ok) return undefined;
    const body = (await response.json().catch(() => null)) as { error?: ApiError } | null;
    return (
      body?.error ?? { code: 'NXS_CONNECTION_LOST', message: `${response.status} ${response.statusText}` }
    );
  } catch {
    return { code: 'NXS_CONNECTION_LOST', message: 'the NexStream server did not answer' };
  } finally {
    controller.abort();
  }
}

/** A pick the server refused (the override must be a YouTube video). */
const pickRefused = {
  what: 'The server can only switch to a YouTube video, and it did not accept this one.',
  todo: 'Keep the match above, or paste the YouTube link of the video you want into the box.',
  retry: false,
};

/** The status line: where the resolution is, in words. */
function statusWords(state: ResolveState): string {
  switch (state.phase) {
    case 'idle':
      return '';
    case 'resolving':
      if (state.pick) return 'Switching to the video you picked…';
      return state.track ? 'Found the track. Looking for the matching video…' : 'Looking up the link…';
    case 'finding-media':
      return 'Matched a video. Getting its download formats…';
    case 'ready': {
      const time = state.elapsedMs !== undefined ? ` in ${(state.elapsedMs / 1000).toFixed(1)} s` : '';
      return state.settled?.via === 'registry'
        ? 'Found in the registry — verified. Ready to download.'
        : `Done${time}. Ready to download.`;
    }
    case 'failed':
      return 'Could not resolve this.';
    case 'cancelled':
      return 'Cancelled.';
  }
}

/** The services line: who answered, who did not, and what is still running. */
function ServiceProgress({ state }: { state: ResolveState }) {
  const answered = state.services
    .filter((service) => service.state === 'answered')
    .map((service) => service.name);
  const failed = state.services
    .filter((service) => service.state === 'failed')
    .map((service) => service.name);
  const working =
    state.phase === 'resolving'
      ? state.pick
        ? 'reading the video you picked'
        : state.step !== undefined
          ? stepWords[Math.min(state.step, stepWords.length - 1)]
          : 'reading the link'
      : state.phase === 'finding-media'
        ? 'getting the download formats'
        : undefined;
  if (answered.length === 0 && failed.length === 0 && !working) return null;
  return (
    <p className="resolve-services" data-testid="service-progress">
      {answered.length > 0 && (
        <span>
          <span className="label">Answered:</span> {answered.join(', ')}
        </span>
      )}
      {failed.length > 0 && (
        <span>
          <span className="label">No answer:</span> {failed.join(', ')}
        </span>
      )}
      {working && (
        <span data-testid="still-working">
          <span className="label">Still working:</span> {working}…
        </span>
      )}
    </p>
  );
}

/**
 * The Resolve page, for a listener: one box to paste a link into; a status line and the services that
 * answered while it works (Cancel and a spinner until the download panel is there); the track, its video and
 * the other videos found (pick one and the rest stays); the download; the technical view (scores, codecs,
 * the telemetry log) behind Details. The address carries `?q=`, so a result can be shared and survives a
 * reload (the registry makes the second resolve fast). Events come over SSE (`EventSource` reconnects with
 * `Last-Event-ID`; the server replays).
 */
export function ResolvePage({ exampleLink }: { exampleLink: string | null }) {
  const id = useId();
  const [input, setInput] = useState('');
  const [state, dispatch] = useReducer(resolveReducer, initialResolveState);
  const [details, setDetails] = useState(false);
  const [copied, setCopied] = useState(false);
  const source = useRef<EventSource | null>(null);
  const logEnd = useRef<HTMLDivElement | null>(null);

  const stop = () => {
    source.current?.close();
    source.current = null;
  };

  const open = (text: string, override?: string) => {
    stop();
    setCopied(false);
    const params = new URLSearchParams({ input: text, stream: crypto.randomUUID() });
    if (override) params.set('override', override);
    const url = withKey(`/api/resolve?${params}`);
    const events = new EventSource(url);
    source.current = events;
    let heard = false;
    for (const name of eventNames) {
      events.addEventListener(name, (message) => {
        if (source.current !== events) return;
        // The connection's own 'error' (no data) is not the resolution's `error` event.
        if (!(message instanceof MessageEvent) || typeof message.data !== 'string') {
          if (events.readyState !== EventSource.CLOSED) return;
          stop();
          if (heard) dispatch({ type: 'connection-lost' });
          else
            void refusal(url).then((error) =>
              dispatch({ type: 'connection-lost', ...(error ? { error } : {}) }),
            );
          return;
        }
        heard = true;
        const event = JSON.parse(message.data) as NexStreamEvent;
        dispatch({ type: 'event', event });
        if (event.type === 'done') stop();
      });
    }
  };

  const resolve = (text: string, video?: string) => {
    writeAddress(text, video);
    dispatch({ type: 'start', input: text });
    open(text, video);
  };

  const pick = (url: string) => {
    writeAddress(state.input, url);
    dispatch({ type: 'pick', url });
    open(state.input, url);
  };

  // `?q=` in the address: a shared link or a reload resolves again.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, on arrival
  useEffect(() => {
    const { q, video } = readAddress();
    if (q) {
      setInput(q);
      resolve(q, video);
    }
    return stop;
  }, []);

  // A refused pick keeps the previous match: the address must not keep the refused video either.
  useEffect(() => {
    if (state.phase === 'ready' && state.input) writeAddress(state.input, state.pick);
  }, [state.phase, state.input, state.pick]);

  const logCount = state.logs.length;
  useEffect(() => {
    if (details && logCount > 0) logEnd.current?.scrollIntoView({ block: 'nearest' });
  }, [details, logCount]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (input.trim()) resolve(input.trim());
  };

  const { track, settled, media } = state;
  const busy = isBusy(state.phase);
  const cover = track?.coverArt?.medium ?? track?.coverArt?.large ?? track?.coverArt?.small;
  const chosen = settled
    ? state.candidates.find((item) => item.candidate.mediaId === settled.mediaId)
    : undefined;
  const videoTitle = media?.title ?? chosen?.candidate.title;
  const others = state.candidates.filter((item) => item.grade !== 'rejected' || details);
  const fromRegistry = settled?.via === 'registry';
  const shareUrl =
    state.phase === 'ready' ? `${location.origin}${location.pathname}${location.search}${location.hash}` : '';

  return (
    <section aria-labelledby={`${id}-title`} className="resolve">
      <h1 id={`${id}-title`}>Find a track and download it</h1>
      <div className="resolve-box" data-testid="resolve-box">
        <form className="resolve-form" onSubmit={submit}>
          <label htmlFor="input">Link, ISRC or search text</label>
          <div className="resolve-row">
            <input
              id="input"
              name="input"
              type="search"
              value={input}
              onChange={(event) => setInput(event.target.value)}
              placeholder="A Spotify, Deezer, Apple Music or YouTube link, an ISRC, or “artist – title”"
              autoComplete="off"
              spellCheck={false}
            />
            {busy ? (
              <>
                <button type="button" disabled aria-hidden="true" tabIndex={-1} className="busy">
                  <span className="spinner" aria-hidden="true" />
                  Working…
                </button>
                <button
                  type="button"
                  className="secondary"
                  onClick={() => {
                    stop();
                    dispatch({ type: 'cancel' });
                  }}
                >
                  Cancel
                </button>
              </>
            ) : (
              <button type="submit" disabled={!input.trim()}>
                Resolve
              </button>
            )}
          </div>
        </form>
        {exampleLink && state.phase === 'idle' && (
          <p className="hint">
            Demo data: try{' '}
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

        <div
          className={`resolve-status ${state.phase}`}
          role="status"
          aria-live="polite"
          data-testid="resolve-status"
          data-phase={state.phase}
          data-via={settled?.via ?? ''}
        >
          {busy && <span className="spinner" aria-hidden="true" />}
          {statusWords(state)}
        </div>
        <ServiceProgress state={state} />

        {state.error && state.phase !== 'cancelled' && (
          <ErrorMessage
            error={state.error}
            {...(state.input ? { onRetry: () => resolve(state.input, state.pick) } : {})}
          />
        )}

        {track && (
          <article className="resolve-track" data-testid="metadata-card">
            {cover ? (
              <img
                src={cover}
                alt={`Cover of ${track.album ?? track.title}`}
                width={112}
                height={112}
                onError={(event) => {
                  event.currentTarget.style.visibility = 'hidden';
                }}
              />
            ) : (
              <div className="cover-placeholder" aria-hidden="true">
                ♪
              </div>
            )}
            <div className="resolve-track-head">
              <h2>{track.title}</h2>
              <p className="artists">{track.artists.join(', ')}</p>
            </div>
            <dl>
              <dt>Album</dt>
              <dd data-testid="album">{track.album ?? '–'}</dd>
              <dt>Length</dt>
              <dd>{formatDuration(track.durationMs)}</dd>
              <dt>ISRC</dt>
              <dd data-testid="isrc">
                {track.isrc ?? '–'}{' '}
                {track.isrc && state.isrcVerified && <span className="badge ok">confirmed</span>}
              </dd>
              <dt>Found on</dt>
              <dd data-testid="sources">{[...new Set(state.sources.map(serviceName))].join(', ')}</dd>
            </dl>
          </article>
        )}

        {(settled || (busy && track)) && (
          <p className="resolve-match" data-testid="match-status">
            {settled ? (
              <>
                <span className="label">Video:</span> <strong>{videoTitle ?? 'found'}</strong>{' '}
                {fromRegistry ? (
                  <span className="badge ok" data-testid="registry-badge">
                    Found in the registry — verified
                  </span>
                ) : (
                  <span className={settled.grade === 'verified' ? 'badge ok' : 'badge'}>
                    {gradeWords[settled.grade]}
                  </span>
                )}
              </>
            ) : (
              <span className="muted">Looking for the matching video…</span>
            )}
          </p>
        )}
        {state.pickError && (
          <ErrorMessage
            error={state.pickError}
            title="Could not switch to that video; the match above is kept."
            {...(state.pickError.code === 'NXS_INVALID_INPUT' ? { explanation: pickRefused } : {})}
          />
        )}

        {media && settled && track && state.phase === 'ready' && (
          <DownloadPanel key={media.id} media={media} track={track} details={details} />
        )}

        {shareUrl && (
          <p className="resolve-share">
            <a href={shareUrl} data-testid="share-link">
              Link to this result
            </a>
            <button
              type="button"
              className="secondary small"
              onClick={() =>
                void navigator.clipboard?.writeText(shareUrl).then(
                  () => setCopied(true),
                  () => setCopied(false),
                )
              }
            >
              Copy link
            </button>
            <span role="status">{copied ? 'Copied.' : ''}</span>
          </p>
        )}

        {(others.length > 1 || (details && others.length > 0)) && (
          <section className="resolve-others" aria-labelledby={`${id}-others`}>
            <h2 id={`${id}-others`}>{others.length > 1 ? 'Not the right video?' : 'Videos found'}</h2>
            <ol className="candidates" data-testid="candidates">
              {others.map((item) => {
                const isChosen = settled?.mediaId === item.candidate.mediaId;
                return (
                  <li
                    key={item.candidate.mediaId}
                    className={isChosen ? 'chosen' : ''}
                    data-testid="candidate"
                  >
                    <div className="candidate-text">
                      <strong>{item.candidate.title}</strong>
                      <span className="muted">
                        {item.candidate.channel ? `${item.candidate.channel} · ` : ''}
                        {formatDuration(item.candidate.durationMs)} · {gradeWords[item.grade]}
                      </span>
                      {details && (
                        <span className="reason" data-testid="candidate-details">
                          score {item.score.toFixed(2)} (
                          {Object.entries(item.parts)
                            .map(([name, value]) => `${name} ${value}`)
                            .join(', ')}
                          ) · {item.engine} · {item.reason} · {item.candidate.mediaId}
                        </span>
                      )}
                    </div>
                    {isChosen ? (
                      <span className="badge ok">chosen</span>
                    ) : (
                      <button
                        type="button"
                        className="secondary"
                        disabled={busy}
                        onClick={() => pick(item.candidate.url)}
                        aria-label={`Use this one: ${item.candidate.title}`}
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

        {state.phase !== 'idle' && (
          <div className="resolve-details">
            <button
              type="button"
              className="secondary small"
              aria-expanded={details}
              aria-controls={`${id}-details`}
              onClick={() => setDetails((open) => !open)}
            >
              {details ? 'Hide details' : 'Details'}
            </button>
            {details && (
              <div id={`${id}-details`} data-testid="details">
                {settled && (
                  <dl className="resolve-tech">
                    <dt>Media</dt>
                    <dd data-testid="media-id">{settled.mediaId}</dd>
                    <dt>Grade</dt>
                    <dd>
                      {settled.grade} via {settled.via} in {(settled.elapsedMs / 1000).toFixed(1)} s
                    </dd>
                    <dt>Engines</dt>
                    <dd>{state.sources.join(', ')}</dd>
                  </dl>
                )}
                <section className="terminal" aria-label="Telemetry">
                  <h2>Telemetry</h2>
                  {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (axe scrollable-region-focusable) */}
                  <div className="terminal-body" role="log" aria-live="off" tabIndex={0}>
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
              </div>
            )}
          </div>
        )}
      </div>
    </section>
  );
}
