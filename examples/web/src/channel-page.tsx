import Hls from 'hls.js';
import { type DragEvent, useCallback, useEffect, useRef, useState } from 'react';
import {
  type ApiError,
  api,
  authHeaders,
  describeError,
  formatBytes,
  formatDuration,
  toApiError,
} from './api';

interface PlaylistItem {
  id: string;
  originalName: string;
  sizeBytes: number;
  durationMs: number;
}
interface Snapshot {
  items: PlaylistItem[];
  currentId: string | null;
  currentIndex: number;
  loop: boolean;
  revision: number;
}
interface Status {
  state: 'stopped' | 'starting' | 'playing' | 'paused' | 'slate' | 'stopping';
  slateReason?: string;
  item: { id: string; originalName: string; durationMs: number; positionMs: number } | null;
  encoder: {
    running: boolean;
    restarts: number;
    stats?: { fps?: number; bitrateKbps?: number; speed?: number };
  };
}
interface Upload {
  name: string;
  loaded: number;
  total: number;
}

/** Uploads files with progress (fetch cannot report upload progress; XMLHttpRequest can). */
function upload(
  url: string,
  files: File[],
  onProgress: (loaded: number, total: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    const form = new FormData();
    for (const file of files) form.append('file', file, file.name);
    request.open('POST', url);
    for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.total);
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) return resolve();
      try {
        reject((JSON.parse(request.responseText) as { error: ApiError }).error);
      } catch {
        reject({ code: 'NXS_UPSTREAM', message: `${request.status} ${request.statusText}` });
      }
    };
    request.onerror = () => reject({ code: 'NXS_UPSTREAM', message: 'the upload connection failed' });
    request.send(form);
  });
}

const stateText: Record<Status['state'], string> = {
  stopped: 'Off air',
  starting: 'Starting…',
  playing: 'On air',
  paused: 'Paused (slate)',
  slate: 'On air (slate)',
  stopping: 'Stopping…',
};

/**
 * The Channel page: an hls.js player of the live channel, uploads (drag and drop, with progress), the playlist
 * (drag or arrow buttons to reorder, play now, remove, clear), start / stop / pause / resume, and live status
 * and now-playing from the channel's event stream.
 */
export function ChannelPage() {
  const [channelId, setChannelId] = useState('main');
  const base = `/api/channels/${encodeURIComponent(channelId)}`;
  const [snapshot, setSnapshot] = useState<Snapshot | null>(null);
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [uploads, setUploads] = useState<Upload | null>(null);
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
      return await call();
    } catch (failure) {
      setError(toApiError(failure));
      return undefined;
    }
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` reloads the channel after it was created
  useEffect(() => {
    setSnapshot(null);
    const follow = (): EventSource => {
      const events = new EventSource(`${base}/events`);
      events.addEventListener('status', (message) =>
        setStatus(JSON.parse((message as MessageEvent).data) as Status),
      );
      const refreshStatus = () => void api<Status>(`${base}/stream/status`).then(setStatus, () => {});
      events.addEventListener('state-changed', refreshStatus);
      events.addEventListener('item-started', refreshStatus);
      events.addEventListener('playlist-changed', (message) => {
        setSnapshot((JSON.parse((message as MessageEvent).data) as { snapshot: Snapshot }).snapshot);
      });
      events.addEventListener('stats', (message) => {
        const stats = JSON.parse((message as MessageEvent).data) as NonNullable<Status['encoder']['stats']>;
        setStatus((previous) =>
          previous ? { ...previous, encoder: { ...previous.encoder, stats } } : previous,
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
  }, [base, run, generation]);

  const createChannel = () =>
    void run(async () => {
      await api(`/api/channels`, { method: 'POST', body: JSON.stringify({ id: channelId }) });
      setGeneration((value) => value + 1);
    });

  const live = status?.state === 'playing' || status?.state === 'paused' || status?.state === 'slate';
  useEffect(() => {
    const element = video.current;
    if (!element || !live) return;
    const source = `${base}/hls/index.m3u8`;
    if (Hls.isSupported()) {
      const player = new Hls({
        liveSyncDurationCount: 3,
        manifestLoadingMaxRetry: 10,
        manifestLoadingRetryDelay: 1000,
      });
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

  const send = async (files: File[]) => {
    if (files.length === 0) return;
    const total = files.reduce((sum, file) => sum + file.size, 0);
    setUploads({ name: files.map((file) => file.name).join(', '), loaded: 0, total });
    await run(() =>
      upload(`${base}/upload`, files, (loaded, all) =>
        setUploads((current) => current && { ...current, loaded, total: all }),
      ),
    );
    setUploads(null);
    await run(async () => setSnapshot(await api<Snapshot>(`${base}/playlist`)));
  };

  const control = (action: 'start' | 'stop' | 'pause' | 'resume') =>
    run(async () => setStatus(await api<Status>(`${base}/stream/${action}`, { method: 'POST' })));
  const reorder = (ids: string[]) =>
    run(async () =>
      setSnapshot(
        await api<Snapshot>(`${base}/playlist/order`, {
          method: 'PUT',
          body: JSON.stringify({ order: ids }),
        }),
      ),
    );
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

  const nowPlaying = status?.item;
  const state = status?.state ?? 'stopped';

  return (
    <section aria-labelledby="channel-title">
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
        <div className="status" aria-live="polite" data-testid="channel-status" data-state={state}>
          <span className={`dot ${state}`} aria-hidden="true" /> {stateText[state]}
          {status?.slateReason ? ` (${status.slateReason})` : ''}
          {nowPlaying && (
            <>
              {' '}
              · Now playing: <strong data-testid="now-playing">{nowPlaying.originalName}</strong>
            </>
          )}
          {status?.encoder.stats?.speed ? ` · encoder ${status.encoder.stats.speed.toFixed(2)}×` : ''}
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

      {error && !missing && (
        <p className="error" role="alert">
          {describeError(error)}{' '}
          <span className="detail">
            ({error.code}: {error.message})
          </span>
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
        aria-label="Upload videos"
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
          data-testid="upload-input"
          onChange={(event) => {
            void send([...(event.target.files ?? [])]);
            event.target.value = '';
          }}
        />
        {uploads && (
          <div className="progress" aria-live="polite">
            <progress max={uploads.total || 1} value={uploads.loaded} aria-label="Upload progress" />
            <span>
              Uploading {uploads.name}: {formatBytes(uploads.loaded)} of {formatBytes(uploads.total)}
              {uploads.loaded >= uploads.total ? ' · checking the file…' : ''}
            </span>
          </div>
        )}
      </section>

      <section className="card" aria-labelledby="playlist-title">
        <div className="row">
          <h2 id="playlist-title">Playlist</h2>
          <button
            type="button"
            className="secondary"
            disabled={!snapshot?.items.length}
            onClick={() =>
              void run(async () => setSnapshot(await api<Snapshot>(`${base}/playlist`, { method: 'DELETE' })))
            }
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
              className={`${item.id === nowPlaying?.id ? 'current' : ''}${dragging === item.id ? ' dragging' : ''}`}
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
                  onClick={() =>
                    void run(async () =>
                      setSnapshot(
                        await api<Snapshot>(`${base}/playlist/${item.id}/play`, { method: 'POST' }),
                      ),
                    )
                  }
                >
                  Play now
                </button>
                <button
                  type="button"
                  className="danger"
                  aria-label={`Remove ${item.originalName}`}
                  onClick={() =>
                    void run(async () =>
                      setSnapshot(await api<Snapshot>(`${base}/playlist/${item.id}`, { method: 'DELETE' })),
                    )
                  }
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
