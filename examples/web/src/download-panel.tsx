import type { TrackMetadata } from '@nexstream/core';
import { type MuxContainer, mux, type SaveMethod, saveStream } from '@nexstream/edge-muxer';
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { type ApiError, api, authHeaders, formatBytes, toApiError } from './api';
import {
  audioFormats,
  type DownloadKind,
  type FileType,
  fileTypeOptions,
  type PageFormat,
  type PageMedia,
  qualityLabel,
  technicalLabel,
  videoFormatsFor,
} from './download-options';
import { DownloadProgress, type Progress } from './download-progress';
import { ErrorMessage } from './resolve-error';

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
  video: PageFormat | null;
  audio: PageFormat | null;
  formats: PageFormat[];
  urls: { video?: string; audio?: string; direct?: string; server: string };
}

/** Where the person wants the file put together (shown under Details). */
type PathChoice = 'auto' | 'edge' | 'server';
/**
 * How the file was really made: joined in the browser (`edge`), on the server (`server`), one file copied in
 * the browser to add the track's tags (`copy`), or downloaded as is (`direct`).
 */
type UsedPath = 'edge' | 'server' | 'copy' | 'direct';

const saveMethods: readonly SaveMethod[] = ['service-worker', 'opfs', 'blob'];

/** Counts bytes passing through, for the progress of the server and direct paths. */
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

/** Plans that re-encode or extract: the output size is not the source's, so no estimate is shown. */
const sizeChanging = new Set(['transcode-needed', 'audio-from-progressive']);

/** A direct file the browser can copy to add tags (MP4, M4A, WebM: the edge muxer's one-file input). */
function canCopy(plan: Plan): boolean {
  return (
    Boolean(plan.urls.direct) &&
    ['mp4', 'm4a', 'webm'].includes(plan.container) &&
    typeof Worker !== 'undefined'
  );
}

/** What will happen, in words (before the download). */
function planWords(plan: Plan, choice: PathChoice): string {
  const joined = plan.video && plan.audio;
  if (plan.reason === 'transcode-needed') return 'The server converts the sound to MP3.';
  if (plan.reason === 'audio-from-progressive') return 'The server takes the sound out of the video.';
  if (plan.route === 'direct' && choice !== 'server') {
    return canCopy(plan)
      ? 'Your browser copies the file and adds the track’s title, artist, album and cover (not re-encoded).'
      : 'The file is downloaded as it is.';
  }
  const where =
    choice === 'server' || (choice === 'auto' && plan.route === 'server') ? 'the server' : 'your browser';
  return joined
    ? `${where === 'your browser' ? 'Your browser' : 'The server'} joins the picture and the sound (copied, not re-encoded).`
    : `${where === 'your browser' ? 'Your browser' : 'The server'} copies the sound into the file.`;
}

/** What really happened (after the download): the truth about the path used. */
function pathWords(path: UsedPath, plan: Plan): string {
  if (path === 'direct') return 'Downloaded as is: the video site already had this file.';
  if (path === 'copy') return 'Copied in your browser with the track’s tags added (not re-encoded).';
  if (path === 'edge') return 'Picture and sound joined in your browser (copied, not re-encoded).';
  if (plan.reason === 'transcode-needed') return 'Converted to MP3 on the server.';
  if (plan.reason === 'audio-from-progressive') return 'Sound taken out of the video on the server.';
  return plan.video && plan.audio
    ? 'Picture and sound joined on the server (copied, not re-encoded).'
    : 'Sound copied into the file on the server.';
}

/** The tags the muxer writes into the file: what players and file managers show. */
function tagsOf(track: TrackMetadata) {
  const cover = track.coverArt?.large ?? track.coverArt?.medium ?? track.coverArt?.small;
  return {
    title: track.title,
    artist: track.artists,
    ...(track.album ? { album: track.album } : {}),
    ...(track.releaseDate ? { year: track.releaseDate } : {}),
    ...(cover ? { cover: { url: cover, headers: {} } } : {}),
  };
}

/**
 * Download: Audio or Video, a file type (types this source cannot give are disabled, with the reason), a
 * quality (none for MP3), then the file — joined in the browser (the edge muxer in a Worker, saved through the
 * Service Worker), joined or converted on the server (ffmpeg), or downloaded as is. A browser failure falls
 * back to the server. The plan is fetched for every choice; Download only uses the plan of the choice on
 * screen. `details` shows the technical view (route, reason, codecs, where to join).
 */
export function DownloadPanel({
  media,
  track,
  details,
}: {
  media: PageMedia;
  track: TrackMetadata;
  details: boolean;
}) {
  const id = useId();
  const [kind, setKind] = useState<DownloadKind>('video');
  const options = useMemo(() => fileTypeOptions(media, kind), [media, kind]);
  const firstAvailable = options.find((option) => option.available)?.value;
  const [fileType, setFileType] = useState<FileType | undefined>(firstAvailable);
  const [videoId, setVideoId] = useState('');
  const [audioId, setAudioId] = useState('');
  const [choice, setChoice] = useState<PathChoice>('auto');
  const [plan, setPlan] = useState<(Plan & { key: string }) | null>(null);
  const [planError, setPlanError] = useState<ApiError | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [status, setStatus] = useState<'idle' | 'running' | 'done' | 'failed'>('idle');
  const [progress, setProgress] = useState<Progress | null>(null);
  const [used, setUsed] = useState<{ path: UsedPath; plan: Plan; method?: SaveMethod; note?: string } | null>(
    null,
  );
  const abort = useRef<AbortController | null>(null);

  const videos = fileType ? videoFormatsFor(media, fileType) : [];
  const audios = audioFormats(media);
  const showQuality = kind === 'video' ? videos.length > 0 : fileType === 'm4a' && audios.length > 0;
  const key = `${kind}|${fileType ?? ''}|${videoId}|${audioId}`;
  const current = plan && plan.key === key ? plan : null;

  useEffect(() => {
    setPlanError(null);
    if (!fileType) return;
    const params = new URLSearchParams({
      worker: typeof Worker === 'undefined' ? '0' : '1',
      save: 'serviceWorker' in navigator ? 'service-worker' : 'blob',
      container: fileType,
    });
    if (kind === 'audio') params.set('audioOnly', '1');
    if (kind === 'video' && videoId) params.set('video', videoId);
    if (audioId && fileType !== 'mp3') params.set('audio', audioId);
    let live = true;
    api<Plan>(`/api/media/${encodeURIComponent(media.id)}/plan?${params}`)
      .then((next) => live && setPlan({ ...next, key }))
      .catch((failure: unknown) => {
        if (!live) return;
        setPlan(null);
        setPlanError(toApiError(failure));
      });
    return () => {
      live = false;
    };
  }, [media.id, kind, fileType, videoId, audioId, key]);

  useEffect(() => () => abort.current?.abort(), []);

  const switchKind = (next: DownloadKind) => {
    setKind(next);
    setFileType(fileTypeOptions(media, next).find((option) => option.available)?.value);
    setVideoId('');
    setAudioId('');
  };

  const follow = (total: number | null) => {
    const started = performance.now();
    return (bytes: number) => {
      const seconds = Math.max(0.001, (performance.now() - started) / 1000);
      setProgress({ bytes, total, speedBps: bytes / seconds, done: false });
    };
  };

  const viaServer = async (
    url: string,
    path: UsedPath,
    chosenPlan: Plan,
    signal: AbortSignal,
    note?: string,
  ) => {
    setUsed({ path, plan: chosenPlan, ...(note ? { note } : {}) });
    const response = await fetch(url, { headers: authHeaders(), signal });
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => null)) as { error?: ApiError } | null;
      throw body?.error ?? { code: 'NXS_UPSTREAM', message: `${response.status} ${response.statusText}` };
    }
    const length = Number(response.headers.get('content-length')) || null;
    // A converted file's size is not the source's: only a real length (or a copy's estimate) is a total.
    const total = length ?? (sizeChanging.has(chosenPlan.reason) ? null : chosenPlan.estimatedBytes);
    const onBytes = follow(total);
    let written = 0;
    await saveStream(
      counting(response.body, (bytes) => {
        written = bytes;
        onBytes(bytes);
      }),
      {
        filename: chosenPlan.filename,
        mimeType: chosenPlan.mimeType,
        methods: saveMethods,
        signal,
        ...(length ? { sizeBytes: length } : {}),
        onMethod: (method) => setUsed((previous) => (previous ? { ...previous, method } : previous)),
      },
    );
    return written;
  };

  /**
   * Joins or copies in the browser with the edge muxer, tagging the file: the plan's separate video and audio
   * (`edge`), or its one file copied whole (`copy`, a direct download that gets the tags too).
   */
  const viaBrowser = async (path: 'edge' | 'copy', chosenPlan: Plan, signal: AbortSignal) => {
    setUsed({ path, plan: chosenPlan });
    const onBytes = follow(chosenPlan.estimatedBytes);
    let written = 0;
    const source = (url: string) => ({ url, headers: authHeaders() });
    const inputs =
      path === 'copy'
        ? { input: source(chosenPlan.urls.direct ?? '') }
        : {
            ...(chosenPlan.urls.video ? { video: source(chosenPlan.urls.video) } : {}),
            ...(chosenPlan.urls.audio ? { audio: source(chosenPlan.urls.audio) } : {}),
          };
    const file = mux({
      ...inputs,
      container: chosenPlan.container as MuxContainer,
      metadata: tagsOf(track),
      workerUrl: '/edge-muxer/worker.js',
      libavBaseUrl: '/libav/',
      signal,
      onProgress: (report) => {
        written = report.bytesOut;
        onBytes(report.bytesIn);
      },
    });
    await saveStream(file, {
      filename: chosenPlan.filename,
      mimeType: chosenPlan.mimeType,
      methods: saveMethods,
      signal,
      onMethod: (method) => setUsed((previous) => (previous ? { ...previous, method } : previous)),
    });
    return written;
  };

  const start = async () => {
    if (!current) return;
    const chosenPlan = current;
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setStatus('running');
    setError(null);
    setProgress(null);
    const canEdge =
      ['mp4', 'webm', 'mkv', 'm4a'].includes(chosenPlan.container) &&
      Boolean(chosenPlan.urls.video || chosenPlan.urls.audio) &&
      !sizeChanging.has(chosenPlan.reason) &&
      typeof Worker !== 'undefined';
    const wantsEdge = choice === 'edge' || (choice === 'auto' && chosenPlan.route === 'edge');
    try {
      let bytes: number;
      if (chosenPlan.route === 'direct' && chosenPlan.urls.direct && choice !== 'server') {
        const direct = chosenPlan.urls.direct;
        if (canCopy(chosenPlan)) {
          try {
            bytes = await viaBrowser('copy', chosenPlan, controller.signal);
          } catch (failure) {
            const reason = toApiError(failure);
            if (controller.signal.aborted || reason.code === 'NXS_ABORTED') throw failure;
            // The tags are a bonus: without them the file is still the file.
            setProgress(null);
            bytes = await viaServer(
              direct,
              'direct',
              chosenPlan,
              controller.signal,
              'Your browser could not add the tags, so the file has none.',
            );
          }
        } else {
          bytes = await viaServer(direct, 'direct', chosenPlan, controller.signal);
        }
      } else if (wantsEdge && canEdge) {
        try {
          bytes = await viaBrowser('edge', chosenPlan, controller.signal);
        } catch (failure) {
          const reason = toApiError(failure);
          if (controller.signal.aborted || reason.code === 'NXS_ABORTED') throw failure;
          // The browser could not join them (old browser, codec, memory): the server does it instead.
          setProgress(null);
          bytes = await viaServer(
            chosenPlan.urls.server,
            'server',
            { ...chosenPlan, route: 'server' },
            controller.signal,
            'Your browser could not put the file together, so the server did.',
          );
        }
      } else {
        bytes = await viaServer(
          chosenPlan.urls.server,
          'server',
          { ...chosenPlan, route: 'server' },
          controller.signal,
        );
      }
      setProgress((previous) => ({
        bytes: Math.max(bytes, previous?.bytes ?? 0),
        total: null,
        speedBps: previous?.speedBps ?? 0,
        done: true,
      }));
      setStatus('done');
    } catch (failure) {
      setError(toApiError(failure));
      setStatus('failed');
    }
  };

  const estimate = current && !sizeChanging.has(current.reason) ? current.estimatedBytes : null;
  const preparing = !current && !planError && Boolean(fileType);

  return (
    <section className="dl" aria-labelledby={`${id}-title`} data-testid="download-panel">
      <h2 id={`${id}-title`}>Download</h2>
      <div className="dl-choices">
        <fieldset className="dl-switch">
          <legend>What to save</legend>
          {(['video', 'audio'] as const).map((value) => (
            <label key={value}>
              <input
                type="radio"
                name={`${id}-kind`}
                value={value}
                checked={kind === value}
                onChange={() => switchKind(value)}
                disabled={status === 'running'}
              />
              <span>{value === 'video' ? 'Video' : 'Audio only'}</span>
            </label>
          ))}
        </fieldset>
        <div className="dl-field">
          <label htmlFor={`${id}-type`}>File type</label>
          <select
            id={`${id}-type`}
            value={fileType ?? ''}
            disabled={status === 'running'}
            aria-describedby={`${id}-type-note`}
            onChange={(event) => {
              setFileType(event.target.value as FileType);
              setVideoId('');
            }}
          >
            {options.map((option) => (
              <option key={option.value} value={option.value} disabled={!option.available}>
                {option.available ? option.label : `${option.label} (not available)`}
              </option>
            ))}
          </select>
        </div>
        {showQuality && (
          <div className="dl-field">
            <label htmlFor={`${id}-quality`}>Quality</label>
            {kind === 'video' ? (
              <select
                id={`${id}-quality`}
                value={videoId}
                disabled={status === 'running'}
                onChange={(event) => setVideoId(event.target.value)}
              >
                <option value="">Best</option>
                {videos.map((format) => (
                  <option key={format.id} value={format.id}>
                    {qualityLabel(format, media.durationMs)}
                  </option>
                ))}
              </select>
            ) : (
              <select
                id={`${id}-quality`}
                value={audioId}
                disabled={status === 'running'}
                onChange={(event) => setAudioId(event.target.value)}
              >
                <option value="">Best</option>
                {audios.map((format) => (
                  <option key={format.id} value={format.id}>
                    {qualityLabel(format, media.durationMs)}
                  </option>
                ))}
              </select>
            )}
          </div>
        )}
      </div>
      <p className="dl-note" id={`${id}-type-note`} data-testid="file-type-note">
        {options
          .filter((option) => !option.available)
          .map(
            (option) =>
              `${option.value === 'webm' ? 'WebM' : option.value.toUpperCase()} is not available: ${option.why}.`,
          )
          .join(' ')}
      </p>

      <p className="dl-summary" data-testid="plan" data-route={current?.route ?? ''} aria-live="polite">
        {current ? (
          <>
            <strong>{current.filename}</strong>
            {estimate ? ` · about ${formatBytes(estimate)}` : ''} <br />
            <span className="muted">{planWords(current, choice)}</span>
          </>
        ) : preparing ? (
          <span className="muted">Preparing…</span>
        ) : null}
      </p>
      {planError && <ErrorMessage error={planError} />}

      {details && current && (
        <div className="dl-details" data-testid="download-details">
          <dl>
            <dt>Route</dt>
            <dd>
              {current.route} ({current.reason})
            </dd>
            <dt>Plan</dt>
            <dd>{current.message}</dd>
            {current.video && (
              <>
                <dt>Video</dt>
                <dd>{technicalLabel(current.video)}</dd>
              </>
            )}
            {current.audio && (
              <>
                <dt>Audio</dt>
                <dd>{technicalLabel(current.audio)}</dd>
              </>
            )}
          </dl>
          <fieldset className="dl-where">
            <legend>Where the file is put together</legend>
            {(['auto', 'edge', 'server'] as const).map((value) => (
              <label key={value}>
                <input
                  type="radio"
                  name={`${id}-path`}
                  value={value}
                  checked={choice === value}
                  onChange={() => setChoice(value)}
                />
                {value === 'auto' ? 'automatic' : value === 'edge' ? 'in this browser' : 'on the server'}
              </label>
            ))}
          </fieldset>
        </div>
      )}

      <div className="actions">
        <button type="button" onClick={() => void start()} disabled={!current || status === 'running'}>
          {status === 'running' ? 'Downloading…' : status === 'done' ? 'Download again' : 'Download'}
        </button>
        {status === 'running' && (
          <button type="button" className="secondary" onClick={() => abort.current?.abort()}>
            Cancel
          </button>
        )}
      </div>
      {progress && <DownloadProgress progress={progress} />}
      {used && (
        <p
          className={status === 'done' ? 'dl-path done' : 'dl-path'}
          data-testid="delivery-path"
          data-path={used.path}
          data-status={status}
        >
          {status === 'done' ? '✓ ' : ''}
          {pathWords(used.path, used.plan)}
          {used.note ? ` ${used.note}` : ''}
          {details && used.method ? ` (saved with ${used.method})` : ''}
        </p>
      )}
      {error && <ErrorMessage error={error} />}
    </section>
  );
}
