import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { locateProgram } from '@nexstream/core/node';
import { launchChromium, type MediaOrigin, sampleMedia, startMediaOrigin } from '@nexstream/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MuxOptions } from '../src/index.js';
import { bundleBrowserCode, packetHashes, startTestSite, type TestSite } from './browser-harness.js';

// Tags written by mux() in real headless Chromium (real Worker, real libav.js wasm for the libav jobs, the
// real Service Worker download), read back from the saved file by the real ffprobe.
const timeoutMs = 180_000;
const run = promisify(execFile);

const metadata = {
  title: 'Halo (Live) — ハロー',
  artist: ['Beyoncé', 'Guest Artist'],
  album: 'I Am… Sasha Fierce',
  year: '2008-11-14',
};

interface Probed {
  format: { format_name: string; tags?: Record<string, string> };
  streams: Array<{
    index: number;
    codec_type: string;
    codec_name?: string;
    width?: number;
    height?: number;
    disposition?: Record<string, number>;
    tags?: Record<string, string>;
  }>;
}

let bundle: Awaited<ReturnType<typeof bundleBrowserCode>>;
let origin: MediaOrigin;
let site: TestSite;
let browser: Browser;
let page: Page;
let downloadsPath: string;
let scratch: string;
let ffprobe: string;
const samples: Record<string, string> = {};

beforeAll(async () => {
  [bundle, origin, downloadsPath, scratch] = await Promise.all([
    bundleBrowserCode(),
    startMediaOrigin(),
    mkdtemp(join(tmpdir(), 'nexstream-tag-downloads-')),
    mkdtemp(join(tmpdir(), 'nexstream-tags-')),
  ]);
  ffprobe = (await locateProgram('ffprobe')).path;
  const ffmpeg = (await locateProgram('ffmpeg')).path;
  for (const kind of [
    'h264-video-mp4',
    'aac-audio-m4a',
    'h264-aac-mp4',
    'vp9-opus-webm',
    'vp9-video-webm',
    'opus-audio-webm',
  ] as const) {
    samples[kind] = await sampleMedia(kind);
    origin.add(kind, samples[kind]);
  }
  // A real 96 × 96 JPEG and PNG cover made by ffmpeg; and a file that is no image at all.
  const jpeg = join(scratch, 'cover.jpg');
  const png = join(scratch, 'cover.png');
  for (const path of [jpeg, png]) {
    await run(ffmpeg, [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=96x96',
      '-frames:v',
      '1',
      '-y',
      path,
    ]);
  }
  const notImage = join(scratch, 'cover.txt');
  await writeFile(notImage, '<!doctype html><p>not found</p>');
  origin.add('cover.jpg', jpeg, { contentType: 'image/jpeg' });
  origin.add('cover.png', png, { contentType: 'image/png' });
  origin.add('cover.txt', notImage, { contentType: 'image/jpeg' });
  site = await startTestSite({ bundleDirectory: bundle.directory, mediaOriginUrl: origin.url });
  browser = await launchChromium({ downloadsPath });
  const context = await browser.newContext({ acceptDownloads: true });
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

/** The serialisable part of mux()'s options: inputs are `/media/<name>` paths on the test site. */
type PageJob = Pick<MuxOptions, 'container' | 'writer' | 'metadata'> & {
  video?: string;
  audio?: string;
  input?: string;
  /** Request headers of the inputs (as the web app sends the tunnel's Authorization). */
  headers?: Record<string, string>;
};

interface PageResult {
  failed?: { code: string; message: string };
  warnings: Array<{ code: string; message: string }>;
  writer?: string;
}

/** Runs mux() → saveStream() (Service Worker) in the page and returns the saved file's path. */
async function muxInPage(job: PageJob): Promise<{ result: PageResult; path: string }> {
  const downloaded = page.waitForEvent('download', { timeout: timeoutMs });
  const result = await page.evaluate(async (job) => {
    const { mux, saveStream, containerMimeTypes } = (
      window as unknown as { edgeMuxer: typeof import('../src/index.js') }
    ).edgeMuxer;
    const warnings: PageResult['warnings'] = [];
    let writer: string | undefined;
    const media = (name: string | undefined) =>
      name === undefined ? {} : { url: `/media/${name}`, ...(job.headers ? { headers: job.headers } : {}) };
    const file = mux({
      ...(job.video === undefined ? {} : { video: media(job.video) as { url: string } }),
      ...(job.audio === undefined ? {} : { audio: media(job.audio) as { url: string } }),
      ...(job.input === undefined ? {} : { input: media(job.input) as { url: string } }),
      container: job.container,
      ...(job.writer === undefined ? {} : { writer: job.writer }),
      ...(job.metadata === undefined ? {} : { metadata: job.metadata }),
      workerUrl: '/app/worker.js',
      libavBaseUrl: '/libav/',
      onWarning: (warning) => warnings.push({ code: warning.code, message: warning.message }),
      onProgress: (report) => {
        writer = report.writer ?? writer;
      },
    });
    try {
      await saveStream(file, {
        filename: `tagged.${job.container}`,
        mimeType: containerMimeTypes[job.container],
        methods: ['service-worker'],
      });
      return { warnings, ...(writer === undefined ? {} : { writer }) };
    } catch (error) {
      const failure = error as { code: string; message: string };
      return { failed: { code: failure.code, message: failure.message }, warnings };
    }
  }, job);
  expect(result.failed).toBeUndefined();
  const download = await downloaded;
  expect(await download.failure()).toBeNull();
  return { result, path: await download.path() };
}

async function probe(path: string): Promise<Probed> {
  const { stdout } = await run(ffprobe, [
    ...['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path],
  ]);
  return JSON.parse(stdout) as Probed;
}

/** Format tags with lower-case keys (MP4 readers say `artist`, Matroska `ARTIST`). */
function formatTags(probed: Probed): Record<string, string> {
  return Object.fromEntries(
    Object.entries(probed.format.tags ?? {}).map(([key, value]) => [key.toLowerCase(), value]),
  );
}

function expectTextTags(probed: Probed, dateKey: 'date' | 'date_released') {
  const tags = formatTags(probed);
  expect(tags.title).toBe(metadata.title);
  expect(tags.artist).toBe('Beyoncé, Guest Artist');
  expect(tags.album).toBe(metadata.album);
  expect(tags[dateKey]).toBe(metadata.year);
}

function attachedPictures(probed: Probed) {
  return probed.streams.filter((stream) => stream.disposition?.attached_pic === 1);
}

/** The media streams' packets are untouched by tagging: same payloads as the untagged output. */
async function expectSamePackets(tagged: string, untagged: string) {
  const [ours, reference] = await Promise.all([packetHashes(tagged), packetHashes(untagged)]);
  const media = (streams: Awaited<ReturnType<typeof packetHashes>>, skip: number[]) =>
    [...streams.entries()]
      .filter(([index]) => !skip.includes(index))
      .map(([, packets]) => packets.map((packet) => `${packet.sizeBytes}:${packet.hash}`));
  const pictures = attachedPictures(await probe(tagged)).map((stream) => stream.index);
  expect(media(ours, pictures)).toEqual(media(reference, []));
}

describe('mux() writes tags in headless Chromium', () => {
  it(
    'tags an MP4 from our MP4 writer with title, artist, album, date and a JPEG cover (attached_pic)',
    async () => {
      const { result, path } = await muxInPage({
        video: 'h264-video-mp4',
        audio: 'aac-audio-m4a',
        container: 'mp4',
        metadata: { ...metadata, cover: { url: '/media/cover.jpg' } },
      });
      expect(result.writer).toBe('mp4');
      expect(result.warnings).toEqual([]);
      const probed = await probe(path);
      expectTextTags(probed, 'date');
      expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['h264', 'aac', 'mjpeg']);
      expect(attachedPictures(probed)).toMatchObject([{ codec_name: 'mjpeg', width: 96, height: 96 }]);
      const untagged = await muxInPage({ video: 'h264-video-mp4', audio: 'aac-audio-m4a', container: 'mp4' });
      await expectSamePackets(path, untagged.path);
    },
    timeoutMs,
  );

  it(
    'tags an MP4 from libav.js (writer "libav") the same way, with a PNG cover',
    async () => {
      const { result, path } = await muxInPage({
        video: 'h264-video-mp4',
        audio: 'aac-audio-m4a',
        container: 'mp4',
        writer: 'libav',
        metadata: { ...metadata, cover: { url: '/media/cover.png' } },
      });
      expect(result.writer).toBe('libav');
      expect(result.warnings).toEqual([]);
      const probed = await probe(path);
      expectTextTags(probed, 'date');
      expect(attachedPictures(probed)).toMatchObject([{ codec_name: 'png', width: 96, height: 96 }]);
      // libavformat's own encoder tag stays beside ours, in the same ilst.
      expect(formatTags(probed).encoder).toMatch(/^Lavf/);
    },
    timeoutMs,
  );

  it(
    'passes a single M4A through mux() (container "m4a"): a tagged M4A with the same audio packets',
    async () => {
      const { result, path } = await muxInPage({
        audio: 'aac-audio-m4a',
        container: 'm4a',
        metadata: { ...metadata, cover: { url: '/media/cover.jpg' } },
      });
      expect(result.writer).toBe('mp4');
      const probed = await probe(path);
      expectTextTags(probed, 'date');
      expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['aac', 'mjpeg']);
      expect(attachedPictures(probed)).toHaveLength(1);
      const { stdout } = await run(ffprobe, [
        ...['-v', 'error', '-show_entries', 'format_tags=major_brand', '-of', 'csv=p=0', path],
      ]);
      expect(stdout.trim()).toBe('M4A');
      await expectSamePackets(path, samples['aac-audio-m4a']!);
    },
    timeoutMs,
  );

  it(
    'passes a single progressive MP4 through mux() as `input`: both streams kept, tagged',
    async () => {
      const { result, path } = await muxInPage({
        input: 'h264-aac-mp4',
        container: 'mp4',
        metadata: { ...metadata, cover: { url: '/media/cover.jpg' } },
      });
      expect(result.writer).toBe('mp4');
      const probed = await probe(path);
      expectTextTags(probed, 'date');
      expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['h264', 'aac', 'mjpeg']);
      await expectSamePackets(path, samples['h264-aac-mp4']!);
    },
    timeoutMs,
  );

  it(
    'runs the one-file path on libav.js too: an M4A with writer "libav", a WebM file as input',
    async () => {
      const m4a = await muxInPage({
        audio: 'aac-audio-m4a',
        container: 'm4a',
        writer: 'libav',
        metadata: { ...metadata, cover: { url: '/media/cover.jpg' } },
      });
      expect(m4a.result.writer).toBe('libav');
      const probedM4a = await probe(m4a.path);
      expectTextTags(probedM4a, 'date');
      expect(probedM4a.streams.map((stream) => stream.codec_name)).toEqual(['aac', 'mjpeg']);
      await expectSamePackets(m4a.path, samples['aac-audio-m4a']!);
      const webm = await muxInPage({ input: 'vp9-opus-webm', container: 'webm', metadata });
      expect(webm.result.writer).toBe('libav');
      const probedWebm = await probe(webm.path);
      expectTextTags(probedWebm, 'date_released');
      expect(probedWebm.streams.map((stream) => stream.codec_name)).toEqual(['vp9', 'opus']);
      await expectSamePackets(webm.path, samples['vp9-opus-webm']!);
    },
    timeoutMs,
  );

  it(
    'writes Matroska tags and the cover as an attachment into MKV (libav.js)',
    async () => {
      const { result, path } = await muxInPage({
        video: 'h264-video-mp4',
        audio: 'opus-audio-webm',
        container: 'mkv',
        metadata: { ...metadata, cover: { url: '/media/cover.jpg' } },
      });
      expect(result.warnings).toEqual([]);
      const probed = await probe(path);
      expectTextTags(probed, 'date_released');
      // A Matroska attachment; ffprobe (like players) shows an image attachment as the cover picture.
      const [cover] = attachedPictures(probed);
      expect(cover).toMatchObject({ codec_name: 'mjpeg', width: 96, height: 96 });
      expect(cover?.tags).toMatchObject({ filename: 'cover.jpg', mimetype: 'image/jpeg' });
      expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['h264', 'opus', 'mjpeg']);
    },
    timeoutMs,
  );

  it(
    'writes WebM tags and leaves the cover out with a warning (WebM has no attachments)',
    async () => {
      const { result, path } = await muxInPage({
        video: 'vp9-video-webm',
        audio: 'opus-audio-webm',
        container: 'webm',
        metadata: { ...metadata, cover: { url: '/media/cover.jpg' } },
      });
      expect(result.warnings).toMatchObject([{ code: 'cover-skipped' }]);
      const probed = await probe(path);
      expectTextTags(probed, 'date_released');
      expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['vp9', 'opus']);
    },
    timeoutMs,
  );

  it(
    'fetches a cover from another origin (a CDN with CORS) without the inputs’ headers',
    async () => {
      // A second origin, like a music service's image CDN: CORS for everyone, and it logs what it got.
      const cover = await readFile(join(scratch, 'cover.jpg'));
      const seen: IncomingHttpHeaders[] = [];
      const cdn = createServer((request, response) => {
        seen.push(request.headers);
        response.writeHead(200, { 'content-type': 'image/jpeg', 'access-control-allow-origin': '*' });
        response.end(cover);
      });
      await new Promise<void>((resolve) => cdn.listen(0, '127.0.0.1', resolve));
      try {
        const cdnUrl = `http://localhost:${(cdn.address() as AddressInfo).port}/image/ab67616d0000b273`;
        const { result, path } = await muxInPage({
          audio: 'aac-audio-m4a',
          container: 'm4a',
          headers: { authorization: 'Bearer tunnel-secret' },
          metadata: { ...metadata, cover: { url: cdnUrl } },
        });
        expect(result.warnings).toEqual([]);
        expect(seen).toHaveLength(1);
        expect(seen[0]?.authorization).toBeUndefined();
        expect(attachedPictures(await probe(path))).toMatchObject([{ codec_name: 'mjpeg' }]);
      } finally {
        await new Promise((resolve) => cdn.close(resolve));
      }
    },
    timeoutMs,
  );

  it(
    'finishes the download with the tags and without the cover when the cover is no image or missing',
    async () => {
      for (const cover of ['/media/cover.txt', '/media/no-such-cover']) {
        const { result, path } = await muxInPage({
          audio: 'aac-audio-m4a',
          container: 'm4a',
          metadata: { ...metadata, cover: { url: cover } },
        });
        expect(result.warnings).toHaveLength(1);
        expect(result.warnings[0]?.code).toBe('cover-skipped');
        expect(result.warnings[0]?.message).toMatch(/neither a JPEG nor a PNG|answered 404/);
        const probed = await probe(path);
        expectTextTags(probed, 'date');
        expect(attachedPictures(probed)).toEqual([]);
      }
    },
    timeoutMs,
  );
});
