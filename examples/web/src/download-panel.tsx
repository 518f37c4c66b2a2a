import type { MediaFormat, MediaSource, TrackMetadata } from '@nexstream/core';
import { type MuxContainer, mux, type SaveMethod, saveStream } from '@nexstream/edge-muxer';
import { useEffect, useRef, useState } from 'react';
import { type ApiError, api, authHeaders, describeError, formatBytes, toApiError } from './api';

/** The plan route's answer (see examples/server `GET /api/media/:id/plan`). */
interface Plan {
  mediaId: string;
  route: 'edge' | 'server' | 'direct';
  reason: string;
  message: string;
  container: string;
  mimeType: string;
  filename: string;
  estimatedBytes: number | null;
  video: MediaFormat | null;
  audio: MediaFormat | null;
  formats: MediaFormat[];
  urls: { video?: string; audio?: string; direct?: string; server: string };
}

type PathChoice = 'auto' | 'edge' | 'server';
type UsedPath = 'edge' | 'server' | 'direct';

interface Progress {
  bytes: number;
  total: number | null;
  speedBps: number;
  etaS: number | null;
}

const saveMethods: readonly SaveMethod[] = ['service-worker', 'opfs', 'blob'];

function formatLabel(format: MediaFormat): string {
  const parts = [format.id];
  if (format.height) parts.push(`${format.height}p`);
  if (format.videoCodec) parts.push(format.videoCodec.split('.')[0] ?? format.videoCodec);
  if (format.audioCodec) parts.push(format.audioCodec.split('.')[0] ?? format.audioCodec);
  if (format.bitrateBps) parts.push(`${Math.round(format.bitrateBps / 1000)} kbit/s`);
  return parts.join(' · ');
}

/** Counts bytes passing through, for the progress bar of the server and direct paths. */
function counting(
  stream: ReadableStream<Uint8Array>,
  onBytes: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  let total = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        total += chunk.byteLength;
        onBytes(total);
        controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * Download: format and quality choice from the delivery plan, then the edge path (the browser muxes with
 * libav.js and the Service Worker pumps the file into the download manager) or the server path (ffmpeg muxes;
 * the stream is saved the same way). An edge failure falls back to the server automatically.
 */
export function DownloadPanel({ media }: { media: MediaSource; track: TrackMetadata }) {
  const [container, setContainer] = useState('');
  const [videoId, setVideoId] = useState('');
  const [audioId, setAudioId] = useState('');
  const [choice, setChoice] = useState<PathChoice>('auto');
  const [plan, setPlan] = useState<Plan | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [status, setStatus] = useState<'idle' | 'running' | 'done' | 'failed'>('idle');
  const [progress, setProgress] = useState<Progress | null>(null);
  const [used, setUsed] = useState<{ path: UsedPath; method?: SaveMethod; note?: string } | null>(null);
  const abort = useRef<AbortController | null>(null);

  const videos = media.formats.filter((format) => format.videoCodec && !format.audioCodec);
  const audios = media.formats.filter((format) => format.audioCodec && !format.videoCodec);

  useEffect(() => {
    const params = new URLSearchParams({
      worker: typeof Worker === 'undefined' ? '0' : '1',
      save: 'serviceWorker' in navigator ? 'service-worker' : 'blob',
    });
    if (container) params.set('container', container);
    if (videoId) params.set('video', videoId);
    if (audioId) params.set('audio', audioId);
    let current = true;
    api<Plan>(`/api/media/${encodeURIComponent(media.id)}/plan?${params}`)
      .then((next) => {
        if (!current) return;
        setPlan(next);
        setError(null);
      })
      .catch((failure: unknown) => current && setError(toApiError(failure)));
    return () => {
      current = false;
    };
  }, [media.id, container, videoId, audioId]);

  useEffect(() => () => abort.current?.abort(), []);

  const track = (total: number | null) => {
    const started = performance.now();
    return (bytes: number) => {
      const seconds = Math.max(0.001, (performance.now() - started) / 1000);
      const speedBps = bytes / seconds;
      setProgress({
        bytes,
        total,
        speedBps,
        etaS: total && speedBps > 0 ? Math.max(0, (total - bytes) / speedBps) : null,
      });
    };
  };

  const viaServer = async (url: string, current: Plan, signal: AbortSignal, note?: string) => {
    setUsed({ path: current.route === 'direct' ? 'direct' : 'server', ...(note ? { note } : {}) });
    const response = await fetch(url, { headers: authHeaders(), signal });
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => null)) as { error?: ApiError } | null;
      throw body?.error ?? { code: 'NXS_UPSTREAM', message: `${response.status} ${response.statusText}` };
    }
    const length = Number(response.headers.get('content-length')) || null;
    const total = length ?? current.estimatedBytes;
    const result = await saveStream(counting(response.body, track(total)), {
      filename: current.filename,
      mimeType: current.mimeType,
      methods: saveMethods,
      signal,
      ...(length ? { sizeBytes: length } : {}),
      onMethod: (method) => setUsed((previous) => (previous ? { ...previous, method } : previous)),
    });
    return result;
  };

  const viaEdge = async (current: Plan, signal: AbortSignal) => {
    setUsed({ path: 'edge' });
    const onBytes = track(current.estimatedBytes);
    const file = mux({
      ...(current.urls.video ? { video: { url: current.urls.video, headers: authHeaders() } } : {}),
      ...(current.urls.audio ? { audio: { url: current.urls.audio, headers: authHeaders() } } : {}),
      container: current.container as MuxContainer,
      workerUrl: '/edge-muxer/worker.js',
      libavBaseUrl: '/libav/',
      signal,
      onProgress: (report) => onBytes(report.bytesIn),
    });
    return saveStream(file, {
      filename: current.filename,
      mimeType: current.mimeType,
      methods: saveMethods,
      signal,
      onMethod: (method) => setUsed((previous) => (previous ? { ...previous, method } : previous)),
    });
  };

  const start = async () => {
    if (!plan) return;
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setStatus('running');
    setError(null);
    setProgress(null);
    const wantsEdge = choice === 'edge' || (choice === 'auto' && plan.route === 'edge');
    const canEdge =
      ['mp4', 'webm', 'mkv'].includes(plan.container) &&
      plan.video &&
      plan.audio &&
      typeof Worker !== 'undefined';
    try {
      if (plan.route === 'direct' && plan.urls.direct && choice === 'auto') {
        await viaServer(plan.urls.direct, plan, controller.signal);
      } else if (wantsEdge && canEdge) {
        try {
          await viaEdge(plan, controller.signal);
        } catch (failure) {
          const reason = toApiError(failure);
          if (controller.signal.aborted || reason.code === 'NXS_ABORTED') throw failure;
          // The browser could not mux (old browser, codec, memory): the server does it instead.
          setProgress(null);
          await viaServer(
            plan.urls.server,
            { ...plan, route: 'server' },
            controller.signal,
            `the browser could not mux (${reason.code}); the server did`,
          );
        }
      } else {
        await viaServer(plan.urls.server, { ...plan, route: 'server' }, controller.signal);
      }
      setStatus('done');
    } catch (failure) {
      setError(toApiError(failure));
      setStatus('failed');
    }
  };

  const percent = progress?.total ? Math.min(100, (progress.bytes / progress.total) * 100) : undefined;

  return (
    <section className="card download" aria-labelledby="download-title">
      <h2 id="download-title">Download</h2>
      <div className="choices">
        <label>
          Container
          <select value={container} onChange={(event) => setContainer(event.target.value)}>
            <option value="">automatic</option>
            <option value="mp4">MP4</option>
            <option value="mkv">MKV</option>
            <option value="webm">WebM</option>
            <option value="m4a">M4A (audio)</option>
            <option value="mp3">MP3 (audio)</option>
          </select>
        </label>
        {videos.length > 0 && (
          <label>
            Video quality
            <select value={videoId} onChange={(event) => setVideoId(event.target.value)}>
              <option value="">best</option>
              {videos.map((format) => (
                <option key={format.id} value={format.id}>
                  {formatLabel(format)}
                </option>
              ))}
            </select>
          </label>
        )}
        {audios.length > 0 && (
          <label>
            Audio quality
            <select value={audioId} onChange={(event) => setAudioId(event.target.value)}>
              <option value="">best</option>
              {audios.map((format) => (
                <option key={format.id} value={format.id}>
                  {formatLabel(format)}
                </option>
              ))}
            </select>
          </label>
        )}
        <fieldset>
          <legend>Where to mux</legend>
          {(['auto', 'edge', 'server'] as const).map((value) => (
            <label key={value} className="inline">
              <input
                type="radio"
                name="path"
                value={value}
                checked={choice === value}
                onChange={() => setChoice(value)}
              />
              {value === 'auto' ? 'automatic' : value === 'edge' ? 'in this browser' : 'on the server'}
            </label>
          ))}
        </fieldset>
      </div>
      {plan && (
        <p className="muted" data-testid="plan">
          Plan: <strong>{plan.route}</strong> — {plan.message} · {plan.filename} · about{' '}
          {formatBytes(plan.estimatedBytes)}
        </p>
      )}
      <div className="actions">
        <button type="button" onClick={() => void start()} disabled={!plan || status === 'running'}>
          {status === 'running' ? 'Downloading…' : 'Download'}
        </button>
        {status === 'running' && (
          <button type="button" className="secondary" onClick={() => abort.current?.abort()}>
            Cancel
          </button>
        )}
      </div>
      {progress && (
        <div className="progress" aria-live="polite">
          <progress max={100} value={percent} aria-label="Download progress" />
          <span>
            {formatBytes(progress.bytes)}
            {progress.total ? ` of ${formatBytes(progress.total)}` : ''} · {formatBytes(progress.speedBps)}/s
            {progress.etaS !== null ? ` · ${Math.ceil(progress.etaS)} s left` : ''}
          </span>
        </div>
      )}
      {used && (
        <p data-testid="delivery-path" data-path={used.path} data-status={status}>
          Path:{' '}
          <strong>
            {used.path === 'edge'
              ? 'edge (muxed in this browser)'
              : used.path === 'server'
                ? 'server (muxed by ffmpeg)'
                : 'direct file'}
          </strong>
          {used.method ? ` · saved with ${used.method}` : ''}
          {used.note ? ` · ${used.note}` : ''}
          {status === 'done' ? ' · done ✓' : ''}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {describeError(error)} <span className="detail">({error.code})</span>
        </p>
      )}
    </section>
  );
}
