/**
 * `@nexstream/edge-muxer/worker`: the dedicated Worker script that runs one mux job. Load it with
 * `new Worker(url, { type: 'module' })` — {@link mux} does that for you from `workerUrl`. Inside, libav.js
 * runs in its `noworker` mode (no second worker, no postMessage per call: decision 0071), loaded at run
 * time from `libavBaseUrl` so its LGPL files stay separate and replaceable.
 *
 * @packageDocumentation
 */
import { NexStreamError, NexStreamErrorCode, toNexStreamError } from '@nexstream/core';
import { libavVersion } from '../assets.js';
import {
  type ByteSource,
  createBlobOpener,
  createByteSource,
  createStreamOpener,
  createUrlOpener,
} from '../byte-source.js';
import { chooseLibavVariant, isMp4Family, type LibavVariant, sniffInputFamily } from '../container.js';
import { type CoverImage, loadCover } from '../metadata.js';
import type {
  MuxPhase,
  MuxProgress,
  MuxWarning,
  WorkerInput,
  WorkerReply,
  WorkerRequest,
  WorkerStartMessage,
} from '../protocol.js';
import { openDirectRemux } from './direct-remux.js';
import type { LibavInstance, LibavLoader } from './libav-api.js';
import { createMp4Tagger, ilstItems } from './mp4-tags.js';
import { remux } from './remux.js';

interface WorkerScope {
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerRequest>) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
let cancelled = false;
let running = false;
/** Output bytes posted to the page and not yet taken by its consumer. */
let bytesInFlight = 0;
let wakeWriter: (() => void) | undefined;
/** Stops the cover fetch when the job is cancelled. */
const coverController = new AbortController();

/**
 * Starts listening for jobs on the current Worker scope. Called on import of the bundled `./worker`
 * entry; exported so an app that builds its own worker can call it from there.
 */
export function startMuxWorker(): void {
  scope.addEventListener('message', (event) => {
    const message = event.data;
    if (message.type === 'cancel') {
      cancelled = true;
      coverController.abort();
      wakeWriter?.();
      return;
    }
    if (message.type === 'ack') {
      bytesInFlight -= message.bytes;
      wakeWriter?.();
      return;
    }
    if (message.type === 'start' && !running) {
      running = true;
      void runJob(message);
    }
  });
}

async function runJob(job: WorkerStartMessage): Promise<void> {
  const sources: ByteSource[] = [];
  let libav: LibavInstance | undefined;
  const progress: MuxProgress = { phase: 'loading', bytesIn: 0, bytesOut: 0, resumes: 0 };
  let lastReportMs = 0;
  const jobStarted = performance.now();
  // How long the Worker existed before its job started (script load), in milliseconds.
  const workerAgeMs = jobStarted;
  const timings: Record<string, number> = {};
  const mark = (key: string) => {
    timings[key] = performance.now() - jobStarted;
  };
  const refresh = () => {
    progress.bytesIn = sources.reduce((sum, source) => sum + source.bytesIn, 0);
    progress.resumes = sources.reduce((sum, source) => sum + source.resumes, 0);
    if (libav !== undefined) progress.wasmHeapBytes = libav.HEAPU8.buffer.byteLength;
  };
  const report = (force = false) => {
    // Called for every input and output chunk: bail out before any work between reports.
    const now = Date.now();
    if (!force && now - lastReportMs < job.progressIntervalMs) return;
    lastReportMs = now;
    refresh();
    scope.postMessage({ type: 'progress', progress: { ...progress } });
  };
  const setPhase = (phase: MuxPhase) => {
    progress.phase = phase;
    report(true);
  };
  const warn = (warning: MuxWarning) => scope.postMessage({ type: 'warning', warning });
  try {
    report(true);
    // The cover goes into the file's header: fetched while the inputs' first bytes arrive, awaited (at
    // most coverTimeoutMs) before the header is written. A cover that cannot be used is a warning.
    const coverWanted = job.metadata?.cover;
    let coverPromise: Promise<CoverImage | undefined> = Promise.resolve(undefined);
    if (coverWanted !== undefined && job.container === 'webm') {
      warn({ code: 'cover-skipped', message: 'WebM takes no cover art (no attachments): use mkv or mp4' });
    } else if (coverWanted !== undefined) {
      const timer = setTimeout(() => coverController.abort(new Error('timeout')), job.coverTimeoutMs);
      // The inputs' headers (the tunnel's Authorization) go only to the inputs' own origin, never to a
      // cover CDN elsewhere: that would leak them, and a custom header there forces a CORS preflight.
      const coverOrigin = 'url' in coverWanted ? new URL(coverWanted.url).origin : undefined;
      const defaultHeaders = job.inputs.find(
        (input) =>
          input.headers !== undefined && input.url !== undefined && new URL(input.url).origin === coverOrigin,
      )?.headers;
      coverPromise = loadCover(coverWanted, {
        signal: coverController.signal,
        ...(defaultHeaders === undefined ? {} : { defaultHeaders }),
      }).then((loaded) => {
        clearTimeout(timer);
        if ('skipped' in loaded) {
          const timedOut = coverController.signal.aborted && !cancelled;
          warn({
            code: 'cover-skipped',
            message: timedOut ? `the cover did not arrive within ${job.coverTimeoutMs} ms` : loaded.skipped,
          });
          return undefined;
        }
        return loaded;
      });
    }
    job.inputs.forEach((input, index) => {
      const label = inputLabel(input);
      const opener =
        input.url !== undefined
          ? createUrlOpener(input.url, input.headers === undefined ? {} : { headers: input.headers })
          : input.blob !== undefined
            ? createBlobOpener(input.blob, label)
            : createStreamOpener(input.stream!, label);
      sources[index] = createByteSource(opener, {
        ...(input.sizeBytes === undefined ? {} : { sizeBytes: input.sizeBytes }),
        maxResumes: job.maxResumes,
        resumeDelayMs: job.resumeDelayMs,
        onBytes: () => report(),
      });
    });
    // libav.js (worker import, wasm instantiation) loads while the inputs' first bytes arrive when the
    // job is known to need it and the variant does not depend on them (libav.js MP4 output: webcodecs).
    const loadLibav = async (variant: LibavVariant): Promise<LibavInstance> => {
      const loaderUrl = `${job.libavBaseUrl}/libav-${libavVersion}-${variant}.mjs`;
      try {
        const loader = ((await import(/* @vite-ignore */ loaderUrl)) as { default: LibavLoader }).default;
        mark('loaderImportedAtMs');
        return await loader.LibAV({ noworker: true, base: job.libavBaseUrl, variant });
      } catch (error) {
        throw new NexStreamError(
          NexStreamErrorCode.DependencyMissing,
          `libav.js (${variant}) could not be loaded from ${loaderUrl}: serve the files listed in libavAssets at libavBaseUrl (${job.libavBaseUrl})`,
          { cause: error },
        );
      }
    };
    const send = async (chunk: Uint8Array) => {
      // Transfer (not clone) each chunk to the page; wait while the page's consumer is more than
      // maxBytesInFlight behind, so a slow disk or network never makes the output pile up here.
      while (bytesInFlight > job.maxBytesInFlight && !cancelled) {
        await new Promise<void>((resolve) => {
          wakeWriter = resolve;
        });
        wakeWriter = undefined;
      }
      bytesInFlight += chunk.byteLength;
      progress.bytesOut += chunk.byteLength;
      scope.postMessage({ type: 'data', chunk }, [chunk.buffer as ArrayBuffer]);
      report();
    };
    // MP4 output (either writer) gets its tags in the moov on the way out; Matroska through libavformat.
    const tags = job.metadata?.tags ?? {};
    let write = send;
    let flushTags = async () => {};
    const tagMp4 = async (): Promise<void> => {
      const items = ilstItems(tags, await coverPromise);
      if (items.length === 0) return;
      const tagger = createMp4Tagger(items, send, (reason) =>
        warn({ code: 'tags-skipped', message: `the MP4 output was left untagged: ${reason}` }),
      );
      write = tagger.write;
      flushTags = tagger.flush;
    };
    const onPhase = (phase: MuxPhase) => {
      mark(`${phase}AtMs`);
      setPhase(phase);
    };
    // MP4 output may go to the direct writer, which needs no libav.js: load it only when it is needed.
    const directFirst = isMp4Family(job.container) && job.writer !== 'libav';
    const knownVariant = directFirst
      ? undefined
      : (job.variant ?? (isMp4Family(job.container) ? 'webcodecs' : undefined));
    const early = knownVariant === undefined ? undefined : loadLibav(knownVariant);
    // Settled below; until then a failure must not count as unhandled.
    early?.catch(() => {});
    const heads = await Promise.all(sources.map((source) => source.start()));
    mark('headsAtMs');
    if (sources.every((source) => source.sizeBytes >= 0)) {
      progress.totalBytesIn = sources.reduce((sum, source) => sum + source.sizeBytes, 0);
    }
    const families = heads.map(sniffInputFamily);
    // The streams to copy: one per video/audio input; a one-file input gives its video and its audio
    // stream (those it has: optional), read from the same source. M4A output takes audio only.
    const streams = job.inputs.flatMap((input, index) =>
      (input.role === 'file'
        ? job.container === 'm4a'
          ? (['audio'] as const)
          : (['video', 'audio'] as const)
        : [input.role]
      ).map((role) => ({
        role,
        input,
        index,
        optional: input.role === 'file' && job.container !== 'm4a',
      })),
    );
    let direct: Awaited<ReturnType<typeof openDirectRemux>> = { declined: 'the output is not MP4' };
    if (directFirst) {
      direct = families.every((family) => family === 'mp4')
        ? await openDirectRemux(
            streams.map(({ role, input, index, optional }) => ({
              role,
              label: `the ${role} input ${inputLabel(input)}`,
              source: sources[index]!,
              seekable: input.stream === undefined,
              optional,
            })),
            job.container === 'm4a' ? 'm4a' : 'mp4',
          )
        : { declined: 'an input is not MP4/M4A' };
      mark('directProbedAtMs');
    }
    if (isMp4Family(job.container)) await tagMp4();
    if ('run' in direct) {
      progress.writer = 'mp4';
      await direct.run({ write: (chunk) => write(chunk), onPhase, isCancelled: () => cancelled, timings });
      await flushTags();
    } else {
      if (job.writer === 'mp4') {
        throw new NexStreamError(
          NexStreamErrorCode.UnsupportedMedia,
          `the MP4 writer cannot take this job (${direct.declined}): use writer "auto" to let libav.js do it`,
        );
      }
      // Also refuses unrecognised inputs when MP4 output already decided the variant.
      const variant = job.variant ?? chooseLibavVariant(families, job.container);
      progress.writer = 'libav';
      progress.variant = variant;
      libav = await (early ?? loadLibav(variant));
      await libav.av_log_set_level(16);
      mark('libavLoadedAtMs');
      const matroskaCover = job.container === 'mkv' ? await coverPromise : undefined;
      await remux(
        libav,
        streams.map(({ role, input, index, optional }, streamIndex) => ({
          role,
          deviceName: `input-${streamIndex}`,
          label: inputLabel(input),
          source: sources[index]!,
          optional,
        })),
        {
          container: job.container,
          windowSeconds: job.windowSeconds,
          isCancelled: () => cancelled,
          onPhase,
          timings,
          write: (chunk) => write(chunk),
          tags,
          ...(matroskaCover === undefined ? {} : { cover: matroskaCover }),
        },
      );
      await flushTags();
    }
    progress.phase = 'done';
    mark('doneAtMs');
    timings.workerAgeMs = workerAgeMs;
    progress.timingsMs = Object.fromEntries(
      Object.entries(timings).map(([key, value]) => [key, Math.round(value * 10) / 10]),
    );
    refresh();
    report();
    scope.postMessage({ type: 'done', progress: { ...progress } });
    scope.postMessage({ type: 'end' });
  } catch (error) {
    const failure = toNexStreamError(error, NexStreamErrorCode.Internal);
    scope.postMessage({ type: 'error', error: failure.toJSON() });
  } finally {
    coverController.abort();
    for (const source of sources) source?.close();
  }
}

function inputLabel(input: WorkerInput): string {
  if (input.url !== undefined) return input.url.split('?')[0] ?? input.url;
  const role = input.role === 'file' ? 'input' : input.role;
  if (input.blob !== undefined)
    return `${role} file${input.blob instanceof File ? ` ${input.blob.name}` : ''}`;
  return `${role} stream input`;
}

startMuxWorker();
