import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  launchChromium,
  type MediaOrigin,
  probeMedia,
  sampleMedia,
  startMediaOrigin,
} from '@nexstream/testkit';
import type { Browser, BrowserContext, Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleBrowserCode,
  nativeRemux,
  type PacketHash,
  packetHashes,
  startTestSite,
  type TestSite,
} from './browser-harness.js';

// Real headless Chromium, real libav.js (wasm), the real Service Worker pump and Chromium's download
// manager; outputs are checked against the native ffmpeg CLI. Generous timeouts: 2 shared cores.
const timeoutMs = 180_000;

interface PageJobResult {
  result?: { method: string; bytesWritten: number; skipped: string[] };
  failed?: { code: string; message: string };
  muxError?: { code: string; message: string };
  progress: Array<{
    phase: string;
    bytesIn: number;
    bytesOut: number;
    resumes: number;
    writer?: string;
    variant?: string;
  }>;
}

let bundle: Awaited<ReturnType<typeof bundleBrowserCode>>;
let origin: MediaOrigin;
let site: TestSite;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let downloadsPath: string;
let scratch: string;
const samples: Record<string, string> = {};

beforeAll(async () => {
  [bundle, origin, downloadsPath, scratch] = await Promise.all([
    bundleBrowserCode(),
    startMediaOrigin(),
    mkdtemp(join(tmpdir(), 'nexstream-downloads-')),
    mkdtemp(join(tmpdir(), 'nexstream-native-')),
  ]);
  for (const kind of [
    'h264-video-mp4',
    'aac-audio-m4a',
    'vp9-video-webm',
    'opus-audio-webm',
    'corrupt-mp4',
  ] as const) {
    samples[kind] = await sampleMedia(kind);
    origin.add(kind, samples[kind]);
  }
  site = await startTestSite({ bundleDirectory: bundle.directory, mediaOriginUrl: origin.url });
  browser = await launchChromium({ downloadsPath });
  context = await browser.newContext({ acceptDownloads: true });
  page = await context.newPage();
  await page.goto(`${site.url}/`);
  await page.evaluate(() => (window as unknown as { edgeMuxerReady: Promise<boolean> }).edgeMuxerReady);
}, timeoutMs);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await origin?.close();
  await bundle?.remove();
  await rm(downloadsPath, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

/** Runs mux() → saveStream() in a page (Service Worker method only unless told: no user gesture here). */
/** Where and how a page job runs: the save methods, the page, the writer (`writer` option of mux()). */
interface JobOptions {
  methods?: string[];
  onPage?: Page;
  writer?: 'auto' | 'mp4' | 'libav';
}

async function runInPage(
  video: string,
  audio: string,
  container: 'mp4' | 'webm' | 'mkv',
  { methods = ['service-worker'], onPage = page, writer = 'auto' }: JobOptions = {},
): Promise<PageJobResult> {
  return onPage.evaluate(
    async ({ video, audio, container, methods, writer }) => {
      const { mux, saveStream, containerMimeTypes } = (
        window as unknown as { edgeMuxer: typeof import('../src/index.js') }
      ).edgeMuxer;
      const progress: PageJobResult['progress'] = [];
      let muxError: PageJobResult['muxError'];
      const file = mux({
        video: `/media/${video}`,
        audio: `/media/${audio}`,
        container,
        writer,
        workerUrl: '/app/worker.js',
        libavBaseUrl: '/libav/',
        resumeDelayMs: 50,
        onProgress: (report) => progress.push(report),
        onError: (error) => {
          muxError = { code: error.code, message: error.message };
        },
      });
      try {
        const result = await saveStream(file, {
          filename: `out.${container}`,
          mimeType: containerMimeTypes[container],
          methods: methods as Array<'service-worker'>,
        });
        return { result, progress, muxError };
      } catch (error) {
        const failure = error as { code: string; message: string };
        return { failed: { code: failure.code, message: failure.message }, progress, muxError };
      }
    },
    { video, audio, container, methods, writer },
  );
}

/** Runs a job while waiting for the download it produces; returns the saved file's path. */
async function muxAndDownload(
  video: string,
  audio: string,
  container: 'mp4' | 'webm' | 'mkv',
  options: JobOptions = {},
) {
  const downloaded = (options.onPage ?? page).waitForEvent('download', { timeout: timeoutMs });
  const job = await runInPage(video, audio, container, options);
  expect(job.failed).toBeUndefined();
  const download: Download = await downloaded;
  const path = await download.path();
  expect(await download.failure()).toBeNull();
  return { job, path, download };
}

function hashesOnly(streams: Map<number, PacketHash[]>): string[][] {
  return [...streams.keys()]
    .sort()
    .map((index) => streams.get(index)!.map((packet) => `${packet.sizeBytes}:${packet.hash}`));
}

async function expectSameAsNative(
  path: string,
  video: string,
  audio: string,
  container: 'mp4' | 'webm' | 'mkv',
) {
  const nativePath = join(scratch, `native-${video}-${audio}.${container}`);
  await nativeRemux(samples[video]!, samples[audio]!, container, nativePath);
  const [ours, native, probed, nativeProbed] = await Promise.all([
    packetHashes(path),
    packetHashes(nativePath),
    probeMedia(path),
    probeMedia(nativePath),
  ]);
  // framemd5 lines carry dts/pts/duration in each stream's time base. The two muxers may pick different
  // time bases for the same stream (the fragmented-MP4 writer here and ffmpeg's can choose different
  // track timescales; Matroska streamed without Cues is fine), so timestamps are compared through the
  // container duration below, and packets by size + MD5 of the payload, per stream and in order.
  expect(hashesOnly(ours)).toEqual(hashesOnly(native));
  expect(probed.streams.map((stream) => stream.codec_name)).toEqual(
    nativeProbed.streams.map((stream) => stream.codec_name),
  );
  if (Number.isFinite(nativeProbed.durationS) && Number.isFinite(probed.durationS)) {
    expect(Math.abs(probed.durationS - nativeProbed.durationS)).toBeLessThan(0.1);
  }
  return probed;
}

describe('mux() + saveStream() in headless Chromium', () => {
  it(
    'muxes H.264 + AAC into a fragmented MP4 saved through the Service Worker, packet for packet like ffmpeg -c copy',
    async () => {
      // The save picker is left out: headless Chromium has no dialog and rejects it like a user dismissing
      // it (AbortError), which saveStream rightly reports as NXS_ABORTED.
      const { job, path } = await muxAndDownload('h264-video-mp4', 'aac-audio-m4a', 'mp4');
      expect(job.result?.method).toBe('service-worker');
      expect(job.result?.skipped).toEqual([]);
      expect(job.result?.bytesWritten).toBe((await stat(path)).size);
      // MP4 inputs to MP4: the direct writer, which never loads libav.js.
      expect(job.progress.at(-1)).toMatchObject({ phase: 'done', writer: 'mp4' });
      expect(job.progress.some((report) => report.variant !== undefined)).toBe(false);
      const probed = await expectSameAsNative(path, 'h264-video-mp4', 'aac-audio-m4a', 'mp4');
      expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['h264', 'aac']);
    },
    timeoutMs,
  );

  it(
    'muxes the same MP4 with libav.js (writer "libav", webcodecs variant), packet for packet like ffmpeg',
    async () => {
      const { job, path } = await muxAndDownload('h264-video-mp4', 'aac-audio-m4a', 'mp4', {
        writer: 'libav',
      });
      expect(job.progress.at(-1)).toMatchObject({ phase: 'done', writer: 'libav', variant: 'webcodecs' });
      await expectSameAsNative(path, 'h264-video-mp4', 'aac-audio-m4a', 'mp4');
    },
    timeoutMs,
  );

  it(
    'muxes VP9 + Opus into WebM with the webm variant',
    async () => {
      const { job, path } = await muxAndDownload('vp9-video-webm', 'opus-audio-webm', 'webm');
      expect(job.progress.at(-1)).toMatchObject({ phase: 'done', writer: 'libav', variant: 'webm' });
      const probed = await expectSameAsNative(path, 'vp9-video-webm', 'opus-audio-webm', 'webm');
      expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['vp9', 'opus']);
    },
    timeoutMs,
  );

  it(
    'muxes H.264 (MP4) + Opus (WebM) into MKV',
    async () => {
      const { job, path } = await muxAndDownload('h264-video-mp4', 'opus-audio-webm', 'mkv');
      expect(job.progress.at(-1)).toMatchObject({ phase: 'done', variant: 'webcodecs' });
      const probed = await expectSameAsNative(path, 'h264-video-mp4', 'opus-audio-webm', 'mkv');
      expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['h264', 'opus']);
    },
    timeoutMs,
  );

  it(
    'resumes an input whose connection drops mid-file at the exact byte, with the same output',
    async () => {
      const videoSize = (await stat(samples['h264-video-mp4']!)).size;
      origin.throttle(2_000_000);
      origin.dropAfter(Math.floor(videoSize / 3), { times: 1 });
      const before = origin.requests.length;
      try {
        const { job, path } = await muxAndDownload('h264-video-mp4', 'aac-audio-m4a', 'mp4');
        expect(job.progress.at(-1)?.resumes).toBeGreaterThanOrEqual(1);
        const videoRequests = origin.requests
          .slice(before)
          .filter((request) => request.path === '/media/h264-video-mp4');
        // The second request asks for the first byte the page did not get. That is at most what the origin
        // sent: a fetch body that errors discards the chunks the page had not read yet (Streams semantics),
        // hence the throttle, which makes the page read along as bytes arrive. The identical packet hashes
        // below prove that no byte was skipped or repeated.
        expect(videoRequests.length).toBeGreaterThanOrEqual(2);
        expect(videoRequests[0]!.bytesSent).toBeLessThan(videoSize);
        const resumedAt = Number(/^bytes=(\d+)-$/.exec(videoRequests[1]!.range ?? '')?.[1]);
        expect(resumedAt).toBeGreaterThan(0);
        expect(resumedAt).toBeLessThanOrEqual(videoRequests[0]!.bytesSent);
        await expectSameAsNative(path, 'h264-video-mp4', 'aac-audio-m4a', 'mp4');
      } finally {
        origin.dropAfter(undefined);
        origin.throttle(undefined);
      }
    },
    timeoutMs,
  );

  it(
    'cancels mid-job: the Worker is gone and the Service Worker holds no entry',
    async () => {
      origin.throttle(150_000);
      try {
        const downloadStarted = page.waitForEvent('download', { timeout: timeoutMs });
        await page.evaluate(() => {
          const { mux, saveStream } = (window as unknown as { edgeMuxer: typeof import('../src/index.js') })
            .edgeMuxer;
          const controller = new AbortController();
          const job = {
            controller,
            bytesOut: 0,
            outcome: undefined as undefined | { code: string },
          };
          (window as unknown as { cancelJob: typeof job }).cancelJob = job;
          const file = mux({
            video: '/media/h264-video-mp4',
            audio: '/media/aac-audio-m4a',
            container: 'mp4',
            workerUrl: '/app/worker.js',
            libavBaseUrl: '/libav/',
            signal: controller.signal,
            progressIntervalMs: 50,
            onProgress: (report) => {
              job.bytesOut = report.bytesOut;
            },
          });
          void saveStream(file, {
            filename: 'cancelled.mp4',
            methods: ['service-worker'],
            signal: controller.signal,
          }).then(
            () => {
              job.outcome = { code: 'completed' };
            },
            (error: { code: string }) => {
              job.outcome = { code: error.code };
            },
          );
        });
        await page.waitForFunction(
          () => (window as unknown as { cancelJob: { bytesOut: number } }).cancelJob.bytesOut > 0,
          undefined,
          {
            timeout: timeoutMs,
          },
        );
        expect(page.workers().length).toBe(1);
        const download = await downloadStarted;
        await page.evaluate(() =>
          (window as unknown as { cancelJob: { controller: AbortController } }).cancelJob.controller.abort(),
        );
        await page.waitForFunction(
          () => (window as unknown as { cancelJob: { outcome?: unknown } }).cancelJob.outcome !== undefined,
        );
        const outcome = await page.evaluate(
          () => (window as unknown as { cancelJob: { outcome: { code: string } } }).cancelJob.outcome,
        );
        expect(outcome.code).toBe('NXS_ABORTED');
        await expect.poll(() => page.workers().length, { timeout: 10_000 }).toBe(0);
        const entries = await page.evaluate(async () => {
          const { listServiceWorkerDownloads } = (
            window as unknown as { edgeMuxer: typeof import('../src/index.js') }
          ).edgeMuxer;
          const registration = await navigator.serviceWorker.getRegistration();
          return listServiceWorkerDownloads(registration!);
        });
        expect(entries).toEqual([]);
        expect(await download.failure()).not.toBeNull();
      } finally {
        origin.throttle(undefined);
      }
    },
    timeoutMs,
  );

  it(
    'falls back to OPFS, then to a Blob, on a page no Service Worker controls',
    async () => {
      const isolated = await browser.newContext({ acceptDownloads: true });
      try {
        const bare = await isolated.newPage();
        await bare.goto(`${site.url}/?sw=0`);
        await bare.evaluate(() => (window as unknown as { edgeMuxerReady: Promise<boolean> }).edgeMuxerReady);
        const viaOpfs = await muxAndDownload('vp9-video-webm', 'opus-audio-webm', 'webm', {
          methods: ['service-worker', 'opfs'],
          onPage: bare,
        });
        expect(viaOpfs.job.result?.method).toBe('opfs');
        expect(viaOpfs.job.result?.skipped[0]).toMatch(/^service-worker: no Service Worker/);
        await expectSameAsNative(viaOpfs.path, 'vp9-video-webm', 'opus-audio-webm', 'webm');
        const viaBlob = await muxAndDownload('vp9-video-webm', 'opus-audio-webm', 'webm', {
          methods: ['service-worker', 'blob'],
          onPage: bare,
        });
        expect(viaBlob.job.result?.method).toBe('blob');
        expect(viaBlob.job.result?.bytesWritten).toBe((await stat(viaBlob.path)).size);
      } finally {
        await isolated.close();
      }
    },
    timeoutMs,
  );

  it(
    'refuses to put VP9 into MP4 with NXS_UNSUPPORTED_MEDIA',
    async () => {
      const job = await runInPage('vp9-video-webm', 'opus-audio-webm', 'mp4');
      expect(job.failed?.code).toBe('NXS_UNSUPPORTED_MEDIA');
      expect(job.muxError?.message).toMatch(/VP9 is never written to MP4/);
      // Forcing the MP4 writer onto WebM inputs says why it cannot, instead of falling back.
      const forced = await runInPage('vp9-video-webm', 'opus-audio-webm', 'mp4', { writer: 'mp4' });
      expect(forced.failed?.code).toBe('NXS_UNSUPPORTED_MEDIA');
      expect(forced.muxError?.message).toMatch(
        /the MP4 writer cannot take this job \(an input is not MP4\/M4A\)/,
      );
    },
    timeoutMs,
  );

  it(
    'reports a corrupt input as a clear error and never starts a download',
    async () => {
      let downloads = 0;
      const count = () => {
        downloads++;
      };
      page.on('download', count);
      try {
        const job = await runInPage('corrupt-mp4', 'aac-audio-m4a', 'mp4');
        expect(job.result).toBeUndefined();
        expect(job.failed?.code).toBe('NXS_UNSUPPORTED_MEDIA');
        expect(job.muxError?.code).toBe('NXS_UNSUPPORTED_MEDIA');
        expect(job.muxError?.message).toMatch(/video input .*corrupt-mp4.* is not readable media/);
        expect(job.progress.some((report) => report.phase === 'done')).toBe(false);
        await expect.poll(() => page.workers().length, { timeout: 10_000 }).toBe(0);
        expect(downloads).toBe(0);
      } finally {
        page.off('download', count);
      }
    },
    timeoutMs,
  );
});
