import { type ProgressItem, readSseEvents } from '@nexstream/core';
import type { SeedReport } from '@nexstream/resolver';
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { type ApiError, authHeaders, describeError, toApiError } from './api';
import './admin.css';

type SeedState =
  | { phase: 'idle' }
  | { phase: 'running' | 'stopped' | 'finished' | 'failed'; title?: string; error?: ApiError };

const statusWords: Record<ProgressItem['status'], string> = {
  done: 'Stored',
  skipped: 'Already stored',
  unverified: 'Not stored',
  failed: 'Not stored',
};

/** Why a track was not stored, in plain words (the service's own text stays under "Details"). */
export function seedReasonText(item: Pick<ProgressItem, 'status' | 'reason'>): string {
  const reason = item.reason ?? '';
  switch (item.status) {
    case 'done':
      return 'Matched to a video by its ISRC and stored.';
    case 'skipped':
      return 'Already in the registry: nothing to do.';
    case 'unverified':
      return 'A video was found, but it could not be confirmed as this exact recording (its ISRC did not match), so it was not stored.';
    default:
      if (reason.includes('(retryable)'))
        return 'A music service or the video site did not answer. Seed again later to retry this track.';
      if (reason.startsWith('NXS_NO_MATCH')) return 'No video of this track was found.';
      if (reason.startsWith('NXS_UNREACHABLE'))
        return 'The server could not reach the music services. Check its internet connection.';
      if (reason.startsWith('NXS_REGISTRY')) return 'The match was found but could not be saved.';
      return 'This track could not be resolved.';
  }
}

/** "1 track", "3 tracks". */
function tracks(count: number): string {
  return `${count} track${count === 1 ? '' : 's'}`;
}

function summaryOf(report: SeedReport): string[] {
  const notStored = report.unverified.length + report.failed.length;
  const kind = report.kind === 'artist' ? 'Artist' : report.kind === 'playlist' ? 'Playlist' : 'Album';
  const parts = [
    report.written > 0 ? `${tracks(report.written)} newly stored` : '',
    report.skipped > 0 ? `${tracks(report.skipped)} already stored` : '',
    notStored > 0 ? `${tracks(notStored)} not stored` : '',
  ].filter(Boolean);
  const lines = [`${kind} “${report.title}”: ${tracks(report.total)} listed.`];
  if (parts.length > 0) lines.push(`${parts.join(', ')}.`.replace(/^./, (first) => first.toUpperCase()));
  if (report.written === 0 && report.skipped > 0 && notStored > 0) lines.push('Nothing new was stored.');
  if (report.retryable > 0)
    lines.push(
      `${tracks(report.retryable)} failed because a service did not answer: start the seed again to retry ${report.retryable === 1 ? 'it' : 'them'}.`,
    );
  if (report.verified > report.written)
    lines.push(`${tracks(report.verified - report.written)} matched but could not be saved.`);
  return lines;
}

/**
 * The seed page: an album, playlist or artist link in, then each track as it is resolved (stored, already
 * stored, or not stored and why), streamed from `POST /api/seed`, and a summary from its `seed-report`.
 */
export function SeedPage() {
  const inputId = useId();
  const [input, setInput] = useState('');
  const [state, setState] = useState<SeedState>({ phase: 'idle' });
  const [items, setItems] = useState<ProgressItem[]>([]);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [report, setReport] = useState<SeedReport | null>(null);
  const controller = useRef<AbortController | null>(null);

  useEffect(() => () => controller.current?.abort(), []);

  const start = async (event: FormEvent) => {
    event.preventDefault();
    const link = input.trim();
    if (!link || state.phase === 'running') return;
    const abort = new AbortController();
    controller.current = abort;
    setItems([]);
    setProgress(null);
    setReport(null);
    setState({ phase: 'running' });
    let title: string | undefined;
    let failure: ApiError | undefined;
    try {
      const response = await fetch('/api/seed', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...authHeaders() },
        body: JSON.stringify({ input: link }),
        signal: abort.signal,
      });
      if (!response.ok) {
        const body = (await response.json().catch(() => undefined)) as { error?: ApiError } | undefined;
        throw body?.error ?? { code: 'NXS_UPSTREAM', message: `${response.status} ${response.statusText}` };
      }
      for await (const message of readSseEvents(response, { signal: abort.signal })) {
        const data = JSON.parse(message.data) as Record<string, unknown>;
        if (message.event === 'progress') {
          const done = data.done as number;
          const total = data.total as number;
          setProgress({ done, total });
          const match = /^(?:album|playlist|artist) "(.*)": /.exec(String(data.message ?? ''));
          if (match && title === undefined) {
            title = match[1];
            setState({ phase: 'running', title });
          }
          const item = data.item as ProgressItem | undefined;
          if (item) setItems((current) => [...current.filter((entry) => entry.id !== item.id), item]);
        } else if (message.event === 'seed-report') {
          setReport(data.report as SeedReport);
        } else if (message.event === 'error') {
          failure = data.error as ApiError;
        }
      }
    } catch (error) {
      failure = toApiError(error);
    }
    controller.current = null;
    if (abort.signal.aborted) setState({ phase: 'stopped', ...(title ? { title } : {}) });
    else if (failure) setState({ phase: 'failed', error: failure, ...(title ? { title } : {}) });
    else setState({ phase: 'finished', ...(title ? { title } : {}) });
  };

  const running = state.phase === 'running';
  const stored = items.filter((item) => item.status === 'done' || item.status === 'skipped');
  const notStored = items.filter((item) => item.status === 'failed' || item.status === 'unverified');

  return (
    <div className="admin">
      <h1>Seed the registry</h1>
      <p className="admin-intro">
        Paste an album, playlist or artist link. NexStream goes through its tracks, finds each one's video,
        and stores the matches it can confirm by ISRC, so these tracks answer at once later.
      </p>

      <form className="admin-form" onSubmit={start}>
        <label htmlFor={inputId}>Album, playlist or artist link</label>
        <div className="admin-form-row">
          <input
            id={inputId}
            type="text"
            value={input}
            onChange={(event) => setInput(event.target.value)}
            placeholder="https://www.deezer.com/album/…"
            autoComplete="off"
            spellCheck={false}
            disabled={running}
            aria-describedby={`${inputId}-hint`}
          />
          {running ? (
            <button type="button" className="danger" onClick={() => controller.current?.abort()}>
              Stop
            </button>
          ) : (
            <button type="submit" disabled={!input.trim()}>
              Start seeding
            </button>
          )}
        </div>
        <p id={`${inputId}-hint`} className="admin-hint">
          Spotify, Deezer or Apple Music. Tracks already stored are skipped, so a seed can be run again
          safely.
        </p>
      </form>

      {state.phase !== 'idle' && (
        <section className="admin-section" aria-labelledby="seed-progress-title" data-testid="seed-progress">
          <h2 id="seed-progress-title">{state.title ? `“${state.title}”` : 'Reading the link…'}</h2>
          <div className="admin-progress">
            <progress
              aria-labelledby="seed-progress-title"
              max={progress?.total || 1}
              value={progress ? progress.done : undefined}
            />
            <p role="status" data-testid="seed-status" data-phase={state.phase}>
              {state.phase === 'running' &&
                (progress ? `${progress.done} of ${tracks(progress.total)} done…` : 'Listing the tracks…')}
              {state.phase === 'finished' &&
                progress &&
                `Finished: ${progress.done} of ${tracks(progress.total)}.`}
              {state.phase === 'stopped' &&
                `Stopped after ${progress?.done ?? 0} of ${tracks(progress?.total ?? 0)}. What was stored stays stored.`}
              {state.phase === 'failed' && 'The seed did not finish.'}
            </p>
          </div>
          {state.phase === 'failed' && state.error && (
            <p className="admin-error" role="alert">
              {state.error.code === 'NXS_INVALID_INPUT'
                ? 'That is not an album, playlist or artist link. Paste one from Spotify, Deezer or Apple Music (a single track is resolved on the Resolve page).'
                : describeError(state.error)}
            </p>
          )}
          {report && (
            <div className="admin-summary" data-testid="seed-summary">
              {summaryOf(report).map((line) => (
                <p key={line}>{line}</p>
              ))}
            </div>
          )}
          {items.length > 0 && (
            <div className="admin-columns">
              <div>
                <h3>Stored ({stored.length})</h3>
                {stored.length === 0 ? (
                  <p className="admin-hint">{running ? 'None yet.' : 'None.'}</p>
                ) : (
                  <ul className="admin-list" data-testid="seed-stored">
                    {stored.map((item) => (
                      <SeedRow key={item.id} item={item} />
                    ))}
                  </ul>
                )}
              </div>
              <div>
                <h3>Not stored ({notStored.length})</h3>
                {notStored.length === 0 ? (
                  <p className="admin-hint">None.</p>
                ) : (
                  <ul className="admin-list" data-testid="seed-not-stored">
                    {notStored.map((item) => (
                      <SeedRow key={item.id} item={item} />
                    ))}
                  </ul>
                )}
              </div>
            </div>
          )}
        </section>
      )}
    </div>
  );
}

function SeedRow({ item }: { item: ProgressItem }) {
  const tone = item.status === 'done' ? 'healthy' : item.status === 'skipped' ? 'neutral' : 'failing';
  return (
    <li className="admin-list-item" data-testid="seed-item" data-status={item.status}>
      <div className="admin-list-text">
        <strong>{item.label}</strong>
        <span className="admin-hint admin-block">{seedReasonText(item)}</span>
        {item.reason && item.status !== 'skipped' && (
          <details className="admin-details">
            <summary>Details</summary>
            <p>{item.reason}</p>
          </details>
        )}
      </div>
      <span className={`admin-health admin-health-${tone}`}>{statusWords[item.status]}</span>
    </li>
  );
}
