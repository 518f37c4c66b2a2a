import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sampleMedia } from '@nexstream/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { truncatedCopy, zipArchive } from '../test/support/hostile.js';
import { waitFor } from '../test/support/wait.js';
import { createIngest, type Ingest, sanitizeOriginalName } from './ingest.js';
import { createFfprobeProber } from './prober.js';

describe('ingest', () => {
  let root: string;
  let ingest: Ingest;
  const leftovers = async () => [
    ...(await readdir(join(root, 'media')).catch(() => [])),
    ...(await readdir(join(root, 'tmp')).catch(() => [])),
  ];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'nxs-ingest-'));
    ingest = createIngest({
      mediaDirectory: join(root, 'media'),
      tempDirectory: join(root, 'tmp'),
      prober: createFfprobeProber(),
      maxBytes: 2 * 1024 * 1024,
    });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('stores a playable upload under a generated name with its probe data', async () => {
    const path = await sampleMedia('h264-aac-mp4', {
      durationS: 4,
      width: 320,
      height: 180,
      fps: 25,
      audio: 'mono',
    });
    const item = await ingest.ingest(createReadStream(path), { originalName: '../../holiday\u0000.mp4' });
    expect(item.filename).toMatch(/^[0-9a-f-]{36}\.mp4$/);
    expect(item.originalName).toBe('holiday.mp4');
    expect(item.probe).toMatchObject({
      videoCodec: 'h264',
      width: 320,
      height: 180,
      fps: 25,
      audioChannels: 1,
    });
    expect(item.durationMs).toBeGreaterThan(3900);
    expect(await readdir(join(root, 'media'))).toEqual([item.filename]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('accepts a silent video and records that it has no audio', async () => {
    const path = await sampleMedia('h264-aac-mp4', { durationS: 4, width: 320, height: 180, audio: 'none' });
    const item = await ingest.ingest(createReadStream(path));
    expect(item.probe.audioChannels).toBe(0);
    expect(item.probe.audioCodec).toBeUndefined();
  });

  it.each([
    [
      'text that is not media',
      async () => Buffer.from('hello, this is not a video\n'.repeat(50)),
      /not a video in a format this server reads/,
    ],
    ['a zip archive named .mp4', async () => zipArchive(), /not a video in a format this server reads/],
    ['an empty upload', async () => Buffer.alloc(0), /the file is empty \(0 bytes\)/],
    [
      'a truncated MP4',
      async () => truncatedCopy(await sampleMedia('h264-aac-mp4', { durationS: 4, width: 320, height: 180 })),
      /damaged or truncated/,
    ],
    [
      'an MP4 with garbage after its header',
      async () => (await import('node:fs/promises')).readFile(await sampleMedia('corrupt-mp4')),
      /damaged or truncated/,
    ],
    [
      'an audio-only file',
      async () =>
        (await import('node:fs/promises')).readFile(await sampleMedia('aac-audio-m4a', { durationS: 2 })),
      /no video stream/,
    ],
  ])('rejects %s with NXS_UNSUPPORTED_MEDIA and leaves nothing behind', async (_name, make, reason) => {
    const body = await make();
    const failure = await ingest
      .ingest(Readable.from([body]), { originalName: 'x.mp4' })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'NXS_UNSUPPORTED_MEDIA', message: expect.stringMatching(reason) });
    expect((failure as Error).message).toMatch(/^"x\.mp4" is not a video this server can play: /);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses an upload over the size limit with NXS_TOO_LARGE without storing it', async () => {
    const big = Readable.from(
      (function* () {
        for (let index = 0; index < 40; index += 1) yield Buffer.alloc(64 * 1024, index);
      })(),
    );
    await expect(ingest.ingest(big)).rejects.toMatchObject({ code: 'NXS_TOO_LARGE' });
    expect(await leftovers()).toEqual([]);
  });

  it('cleans up when the upload is aborted', async () => {
    const controller = new AbortController();
    const slow = new Readable({ read() {} });
    slow.push(Buffer.alloc(1024));
    const pending = ingest.ingest(slow, { signal: controller.signal });
    // Aborted mid-upload: once the temp file exists.
    await waitFor(async () => (await leftovers()).length > 0, 'the upload temp file', { intervalMs: 5 });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'NXS_ABORTED' });
    expect(await leftovers()).toEqual([]);
  });

  it('sweeps the temp files a crash left, and nothing else', async () => {
    await mkdir(join(root, 'tmp'), { recursive: true });
    await writeFile(join(root, 'tmp', 'upload-6f1c0c2e-2b7a-4c51-a1f3-9a0e5b7d3c21.part'), 'half an upload');
    await writeFile(join(root, 'tmp', 'keep.txt'), 'not ours');
    expect(await ingest.sweep()).toBe(1);
    expect(await readdir(join(root, 'tmp'))).toEqual(['keep.txt']);
    await rm(join(root, 'tmp'), { recursive: true });
    expect(await ingest.sweep()).toBe(0);
  });

  it('sanitizes display names without ever producing a path', () => {
    expect(sanitizeOriginalName('../../etc/passwd')).toBe('passwd');
    expect(sanitizeOriginalName('..')).toBe('');
    expect(sanitizeOriginalName('C:\\Users\\me\\clip.mp4')).toBe('clip.mp4');
  });
});
