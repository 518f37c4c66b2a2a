import Hls from 'hls.js';
import { type DragEvent, useCallback, useEffect, useRef, useState } from 'react';
import { type ApiError, api, formatBytes, formatDuration, toApiError } from './api';
import { type ScheduleEntry, useOnScreen } from './channel-now-playing';
import { type ChannelItem, type FileOutcome, uploadAdvice, uploadFiles } from './channel-upload';
import './channel.css';
import { channelPlayerConfig } from './channel-player.js';

interface Snapshot {
  items: ChannelItem[];
  currentId: string | null;
  currentIndex: number;
  loop: boolean;
  revision: number;
}
type ChannelState = 'stopped' | 'starting' | 'playing' | 'paused' | 'slate' | 'stopping';
interface EncoderStats {
  fps?: number;
  bitrateKbps?: number;
  speed?: number;
}
interface Status {
  state: ChannelState;
  slateReason?: string;
  item: { id: string; originalName: string; durationMs: number; positionMs: number } | null;
  encoder: { running: boolean; restarts: number; stats?: EncoderStats };
  schedule?: ScheduleEntry[];
}
interface Upload {
  names: string[];
  loaded: number;
  total: number;
}

/** One plain label per state; the slate's reason is said in words, once. */
function stateLabel(state: ChannelState, slateReason: string | undefined): string {
  switch (state) {
    case 'stopped':
      return 'Off air';
    case 'starting':
      return 'Starting…';
    case 'playing':
      return 'On air';
    case 'paused':
      return 'Paused';
    case 'stopping':
      return 'Stopping…';
    case 'slate':
      if (slateReason === 'empty') return 'On air, waiting for videos';
      if (slateReason === 'ended') return 'On air, the playlist has ended';
      if (slateReason === 'failing') return 'On air, the videos failed to play (trying again soon)';
      return 'On air';
  }
}

/**
 * The server's reason, worded to follow the file's name shown before it: its messages start with the quoted
 * name (`"a.txt" is not a video this server can play: …`), which is dropped; others are introduced.
 */
function refusalText(name: string, message: string): string {
  const quoted = `"${name}"`;
  const text = message.startsWith(quoted) ? message.slice(quoted.length) : ` was not added: ${message}`;
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

const liveStates: ReadonlySet<ChannelState> = new Set(['playing', 'paused', 'slate']);

/**
 * The Channel page: an hls.js player of the live channel, uploads (drag and drop, with progress and a result
 * per file), the playlist (drag or arrow buttons to reorder, play now, remove, clear), start / stop / pause /
 * resume, and a "now playing" label that follows the picture (the broadcaster's schedule, dated by the
 * stream's program date-time, against the player's playhead).
 */
export function ChannelPage() {
  const [channelId, setChannelId] = useState('main');
  const base = `/api/channels/${encodeURIComponent(channelId)}`;
  const [snapshot, setSnapshot] = useState<Snapshot | null>(null);
  const [status, setStatus] = useState<Status | null>(null);
  const [schedule, setSchedule] = useState<ScheduleEntry[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  // Said when an edit was refused because the playlist changed elsewhere (and was reloaded).
  const [notice, setNotice] = useState<string | null>(null);
  const [upload, setUpload] = useState<Upload | null>(null);
  const [outcomes, setOutcomes] = useState<FileOutcome[]>([]);
  const [dragging, setDragging] = useState<string | null>(null);
  const [dropActive, setDropActive] = useState(false);
  // Bumped after the channel is created, to load it again.
  const [generation, setGeneration] = useState(0);
  const missing = error?.code === 'NXS_NOT_FOUND' && snapshot === null;
  const video = useRef<HTMLVideoElement | null>(null);
  const hls = useRef<Hls | null>(null);
  const fileInput = useRef<HTMLInputElement | null>(null);

  const run = useCallback(async <T,>(call: () => Promise<T>): Promise<T | undefined> => {
    try {
      setError(null);
      setNotice(null);
      return await call();
    } catch (failure) {
      setError(toApiError(failure));
      return undefined;
    }
  }, []);

  /**
   * A playlist edit made against the revision on screen (`If-Match`). When someone else changed the
   * playlist first, the server refuses it (409 NXS_CONFLICT): the page loads the current playlist and says so.
   */
  const editPlaylist = (path: string, init: RequestInit) =>
    run(async () => {
      try {
        setSnapshot(
          await api<Snapshot>(path, {
            ...init,
            headers: snapshot ? { 'If-Match': `"${snapshot.revision}"` } : {},
          }),
        );
      } catch (failure) {
        if (toApiError(failure).code !== 'NXS_CONFLICT' || !snapshot) throw failure;
        setSnapshot(await api<Snapshot>(`${base}/playlist`));
        setNotice(
          'The playlist was changed somewhere else (another tab or person) just before your change, so your change was not made. The playlist below is now up to date: make your change again if you still want it.',
        );
      }
    });

  const applyStatus = useCallback((next: Status) => {
    setStatus(next);
    if (next.schedule) setSchedule(next.schedule);
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` reloads the channel after it was created
  useEffect(() => {
    setSnapshot(null);
    setStatus(null);
    setSchedule([]);
    const follow = (): EventSource => {
      const events = new EventSource(`${base}/events`);
      events.addEventListener('status', (message) => applyStatus(JSON.parse((message as MessageEvent).data)));
      const refreshStatus = () => void api<Status>(`${base}/stream/status`).then(applyStatus, () => {});
      events.addEventListener('state-changed', refreshStatus);
      events.addEventListener('item-started', refreshStatus);
      events.addEventListener('schedule-changed', (message) => {
        setSchedule((JSON.parse((message as MessageEvent).data) as { schedule: ScheduleEntry[] }).schedule);
      });
      events.addEventListener('playlist-changed', (message) => {
        setSnapshot((JSON.parse((message as MessageEvent).data) as { snapshot: Snapshot }).snapshot);
      });
      // Events were missed and cannot be replayed (the server restarted, or the gap was too long): reload.
      events.addEventListener('replay-gap', () => {
        void api<Snapshot>(`${base}/playlist`).then(setSnapshot, () => {});
        refreshStatus();
      });
      events.addEventListener('stats', (message) => {
        const stats = JSON.parse((message as MessageEvent).data) as EncoderStats;
        setStatus((previous) =>
          previous && liveStates.has(previous.state)
            ? { ...previous, encoder: { ...previous.encoder, stats } }
            : previous,
        );
      });
      return events;
    };
    // A channel exists only once created: ask for its playlist before opening its event stream.
    const loaded = run(async () => {
      const playlist = await api<Snapshot>(`${base}/playlist`);
      setSnapshot(playlist);
      return playlist;
    });
    let stream: EventSource | undefined;
    let closed = false;
    void loaded.then((playlist) => {
      if (playlist && !closed) stream = follow();
    });
    return () => {
      closed = true;
      stream?.close();
    };
  }, [base, run, generation, applyStatus]);

  const createChannel = () =>
    void run(async () => {
      await api(`/api/channels`, { method: 'POST', body: JSON.stringify({ id: channelId }) });
      setGeneration((value) => value + 1);
    });

  const state = status?.state ?? 'stopped';
  const live = liveStates.has(state);
  useEffect(() => {
    const element = video.current;
    if (!element || !live) return;
    const source = `${base}/hls/index.m3u8`;
    if (Hls.isSupported()) {
      const player = new Hls(channelPlayerConfig);
      hls.current = player;
      player.loadSource(source);
      player.attachMedia(element);
      player.on(Hls.Events.MANIFEST_PARSED, () => void element.play().catch(() => {}));
      player.on(Hls.Events.ERROR, (_event, data) => {
        if (data.fatal && data.type === Hls.ErrorTypes.NETWORK_ERROR)
          setTimeout(() => player.loadSource(source), 1500);
        else if (data.fatal) player.recoverMediaError();
      });
      return () => {
        player.destroy();
        hls.current = null;
      };
    }
    element.src = source; // Safari plays HLS natively.
    void element.play().catch(() => {});
    return () => {
      element.removeAttribute('src');
    };
  }, [base, live]);

  // What the viewer sees, not what the encoder is fed (that runs one live latency ahead).
  const onScreen = useOnScreen(video, hls, schedule, live);
  const nowPlaying = onScreen?.kind === 'item' ? onScreen : undefined;

  const send = async (files: File[]) => {
    if (files.length === 0) return;
    const total = files.reduce((sum, file) => sum + file.size, 0);
    setOutcomes([]);
    setUpload({ names: files.map((file) => file.name), loaded: 0, total });
    const results = await uploadFiles(`${base}/upload`, files, (loaded, all) =>
      setUpload((current) => current && { ...current, loaded: Math.min(loaded, all), total: all }),
    );
    setUpload(null);
    // Kept until the next upload or until dismissed: a playlist refresh does not touch them.
    setOutcomes(results);
    try {
      setSnapshot(await api<Snapshot>(`${base}/playlist`));
    } catch {
      // The event stream brings the playlist too.
    }
  };

  const control = (action: 'start' | 'stop' | 'pause' | 'resume') =>
    run(async () => {
      const next = await api<Status>(`${base}/stream/${action}`, { method: 'POST' });
      applyStatus(action === 'stop' ? { ...next, encoder: { ...next.encoder, stats: undefined } } : next);
    });
  const reorder = (ids: string[]) =>
    editPlaylist(`${base}/playlist/order`, { method: 'PUT', body: JSON.stringify({ order: ids }) });
  const move = (id: string, offset: number) => {
    if (!snapshot) return;
    const ids = snapshot.items.map((item) => item.id);
    const from = ids.indexOf(id);
    const to = Math.max(0, Math.min(ids.length - 1, from + offset));
    if (from === to) return;
    ids.splice(to, 0, ...ids.splice(from, 1));
    void reorder(ids);
  };
  const dropOn = (targetId: string) => {
    if (!snapshot || !dragging || dragging === targetId) return;
    const ids = snapshot.items.map((item) => item.id).filter((id) => id !== dragging);
    ids.splice(
      ids.indexOf(targetId) +
        (snapshot.items.findIndex((item) => item.id === dragging) <
        snapshot.items.findIndex((item) => item.id === targetId)
          ? 1
          : 0),
      0,
      dragging,
    );
    setDragging(null);
    void reorder(ids);
  };
  const onDropFiles = (event: DragEvent) => {
    event.preventDefault();
    setDropActive(false);
    void send([...event.dataTransfer.files]);
  };

  const speed = live ? status?.encoder.stats?.speed : undefined;
  const refused = outcomes.filter((outcome) => !outcome.ok).length;

  return (
    <section aria-labelledby="channel-title" className="channel-page">
      <h1 id="channel-title">Live channel</h1>
      <form className="channel-id" onSubmit={(event) => event.preventDefault()}>
        <label>
          Channel
          <input
            value={channelId}
            onChange={(event) => setChannelId(event.target.value.replace(/[^A-Za-z0-9_-]/g, '') || 'main')}
          />
        </label>
      </form>
      <div className="player card">
        <video ref={video} controls muted playsInline data-testid="player" aria-label="Live channel player" />
        <div className="channel-status-line">
          <p
            className="status"
            aria-live="polite"
            data-testid="channel-status"
            data-state={state}
            data-slate-reason={status?.slateReason ?? ''}
          >
            <span className={`dot ${state}`} aria-hidden="true" />{' '}
            <span data-testid="state-label">{stateLabel(state, status?.slateReason)}</span>
            {nowPlaying && (
              <>
                {' · Now playing: '}
                <strong data-testid="now-playing" data-item-id={nowPlaying.itemId}>
                  {nowPlaying.originalName}
                </strong>
              </>
            )}
          </p>
          {speed ? (
            <p className="muted encoder-speed" data-testid="encoder-speed">
              Encoding at {speed.toFixed(2)}× real time
            </p>
          ) : null}
        </div>
        <div className="actions">
          <button type="button" onClick={() => void control('start')} disabled={state !== 'stopped'}>
            Start
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => void control('pause')}
            disabled={state !== 'playing'}
          >
            Pause
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => void control('resume')}
            disabled={state !== 'paused'}
          >
            Resume
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => void control('stop')}
            disabled={state === 'stopped' || state === 'stopping'}
          >
            Stop
          </button>
        </div>
      </div>

      {notice && (
        <p className="notice" role="status" data-testid="playlist-conflict">
          {notice}
        </p>
      )}
      {error && !missing && (
        <p className="error" role="alert">
          {error.message} <span className="detail">({error.code})</span>
        </p>
      )}
      {missing && (
        <p className="error" role="alert">
          There is no channel “{channelId}” yet.{' '}
          <button type="button" onClick={createChannel}>
            Create channel {channelId}
          </button>
        </p>
      )}

      <section
        aria-labelledby="upload-title"
        className={`dropzone card${dropActive ? ' active' : ''}`}
        onDragOver={(event) => {
          if (event.dataTransfer.types.includes('Files')) {
            event.preventDefault();
            setDropActive(true);
          }
        }}
        onDragLeave={() => setDropActive(false)}
        onDrop={onDropFiles}
      >
        <h2 id="upload-title" className="visually-hidden">
          Upload videos
        </h2>
        <p>Drop video files here, or</p>
        <button type="button" className="secondary" onClick={() => fileInput.current?.click()}>
          Choose files…
        </button>
        <input
          ref={fileInput}
          type="file"
          accept="video/*"
          multiple
          hidden
          aria-label="Video files to upload"
          data-testid="upload-input"
          onChange={(event) => {
            void send([...(event.target.files ?? [])]);
            event.target.value = '';
          }}
        />
        <div aria-live="polite" className="upload-live">
          {upload && (
            <div className="progress">
              <progress max={upload.total || 1} value={upload.loaded} aria-label="Upload progress" />
              <span>
                Uploading {upload.names.join(', ')}: {formatBytes(upload.loaded)} of{' '}
                {formatBytes(upload.total)}
                {upload.loaded >= upload.total ? ' · checking the files…' : ''}
              </span>
            </div>
          )}
          {outcomes.length > 0 && (
            <div className="upload-results" data-testid="upload-results">
              <p className="upload-summary">
                {refused === 0
                  ? outcomes.length === 1
                    ? 'The file was added to the playlist.'
                    : `All ${outcomes.length} files were added to the playlist.`
                  : refused === outcomes.length
                    ? outcomes.length === 1
                      ? 'The file was not added.'
                      : `None of the ${outcomes.length} files was added.`
                    : `${outcomes.length - refused} of ${outcomes.length} files were added; ${refused} ${refused === 1 ? 'was' : 'were'} not.`}
              </p>
              <ul>
                {outcomes.map((outcome, index) => (
                  <li
                    // biome-ignore lint/suspicious/noArrayIndexKey: two chosen files may share a name
                    key={`${outcome.name}-${index}`}
                    className={outcome.ok ? 'ok' : 'refused'}
                    data-testid="upload-result"
                    data-name={outcome.name}
                    data-ok={outcome.ok ? 'true' : 'false'}
                    data-code={outcome.ok ? '' : outcome.error.code}
                  >
                    <span className="upload-mark" aria-hidden="true">
                      {outcome.ok ? '✓' : '✕'}
                    </span>
                    <span>
                      <strong>{outcome.name}</strong>
                      {outcome.ok ? (
                        <> was added ({formatDuration(outcome.item.durationMs)}).</>
                      ) : (
                        <>
                          {refusalText(outcome.name, outcome.error.message)} {uploadAdvice(outcome.error)}{' '}
                          <span className="muted">({outcome.error.code})</span>
                        </>
                      )}
                    </span>
                  </li>
                ))}
              </ul>
              <button type="button" className="secondary" onClick={() => setOutcomes([])}>
                Dismiss
              </button>
            </div>
          )}
        </div>
      </section>

      <section className="card" aria-labelledby="playlist-title">
        <div className="row">
          <h2 id="playlist-title">Playlist</h2>
          <button
            type="button"
            className="secondary"
            disabled={!snapshot?.items.length}
            onClick={() => void editPlaylist(`${base}/playlist`, { method: 'DELETE' })}
          >
            Clear
          </button>
        </div>
        {snapshot && snapshot.items.length === 0 && <p className="muted">Nothing yet: upload a video.</p>}
        <ol className="playlist" data-testid="playlist">
          {snapshot?.items.map((item, index) => (
            <li
              key={item.id}
              draggable
              data-testid="playlist-item"
              data-name={item.originalName}
              aria-current={item.id === nowPlaying?.itemId ? 'true' : undefined}
              className={`${item.id === nowPlaying?.itemId ? 'current' : ''}${dragging === item.id ? ' dragging' : ''}`}
              onDragStart={(event) => {
                setDragging(item.id);
                event.dataTransfer.effectAllowed = 'move';
                event.dataTransfer.setData('text/plain', item.id);
              }}
              onDragOver={(event) => {
                if (dragging) event.preventDefault();
              }}
              onDrop={(event) => {
                event.preventDefault();
                dropOn(item.id);
              }}
              onDragEnd={() => setDragging(null)}
            >
              <span className="handle" aria-hidden="true">
                ⠿
              </span>
              <span className="name">
                {item.originalName}
                <span className="muted">
                  {' '}
                  · {formatDuration(item.durationMs)} · {formatBytes(item.sizeBytes)}
                </span>
              </span>
              <span className="item-actions">
                <button
                  type="button"
                  className="icon"
                  aria-label={`Move ${item.originalName} up`}
                  disabled={index === 0}
                  onClick={() => move(item.id, -1)}
                >
                  ↑
                </button>
                <button
                  type="button"
                  className="icon"
                  aria-label={`Move ${item.originalName} down`}
                  disabled={index === snapshot.items.length - 1}
                  onClick={() => move(item.id, 1)}
                >
                  ↓
                </button>
                <button
                  type="button"
                  className="secondary"
                  onClick={() => void editPlaylist(`${base}/playlist/${item.id}/play`, { method: 'POST' })}
                >
                  Play now
                </button>
                <button
                  type="button"
                  className="danger"
                  aria-label={`Remove ${item.originalName}`}
                  onClick={() => void editPlaylist(`${base}/playlist/${item.id}`, { method: 'DELETE' })}
                >
                  Remove
                </button>
              </span>
            </li>
          ))}
        </ol>
      </section>
    </section>
  );
}
