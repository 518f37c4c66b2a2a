import { readFile } from 'node:fs/promises';
import { NexStreamError } from '@nexstream/core';
import { type MediaOrigin, sampleMedia, startMediaOrigin } from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ByteSource, createByteSource, createStreamOpener, createUrlOpener } from './byte-source.js';

// The byte source runs in the browser Worker, but it only needs fetch and streams: Node has both, so
// its resume and seek logic is tested here against the real media origin (Range, dropped connections).
let origin: MediaOrigin;
let file: Buffer;
let url: string;

beforeAll(async () => {
  origin = await startMediaOrigin();
  const path = await sampleMedia('h264-video-mp4');
  file = await readFile(path);
  url = origin.add('video.mp4', path);
});

afterAll(async () => {
  await origin?.close();
});

/** Reads the whole file through the source the way libav.js does: sequential reads at growing offsets. */
async function readAll(source: ByteSource): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let position = 0;
  while (position < source.sizeBytes) {
    const data = source.peek(position) ?? (await source.read(position));
    if (data.length === 0) break;
    parts.push(data);
    position += data.length;
  }
  return Buffer.concat(parts);
}

describe('createByteSource over a URL', () => {
  it('learns the size from Content-Range and delivers the file byte for byte', async () => {
    const source = createByteSource(createUrlOpener(url), { maxResumes: 3, resumeDelayMs: 10 });
    const head = await source.start();
    expect(source.sizeBytes).toBe(file.length);
    expect(Buffer.from(head.subarray(0, 8)).equals(file.subarray(0, 8))).toBe(true);
    source.setWindowBytes(128 * 1024);
    expect((await readAll(source)).equals(file)).toBe(true);
    source.close();
  });

  it('resumes at the byte it had reached after the origin drops the connection', async () => {
    origin.throttle(4_000_000);
    origin.dropAfter(300_000, { times: 1 });
    const before = origin.requests.length;
    try {
      const source = createByteSource(createUrlOpener(url), { maxResumes: 3, resumeDelayMs: 10 });
      await source.start();
      source.setWindowBytes(128 * 1024);
      expect((await readAll(source)).equals(file)).toBe(true);
      expect(source.resumes).toBe(1);
      expect(source.bytesIn).toBe(file.length);
      const requests = origin.requests.slice(before);
      expect(requests[1]?.range).toMatch(/^bytes=[1-9]\d*-$/);
      source.close();
    } finally {
      origin.dropAfter(undefined);
      origin.throttle(undefined);
    }
  });

  it('serves a backward seek outside its buffer with a new Range request', async () => {
    const source = createByteSource(createUrlOpener(url), { maxResumes: 3, resumeDelayMs: 10 });
    await source.start();
    source.setWindowBytes(64 * 1024);
    const tail = await source.read(file.length - 1000);
    expect(Buffer.from(tail).equals(file.subarray(file.length - 1000))).toBe(true);
    const start = await source.read(10);
    expect(Buffer.from(start.subarray(0, 100)).equals(file.subarray(10, 110))).toBe(true);
    source.close();
  });

  it('fails with NXS_LINK_EXPIRED when the origin answers 403', async () => {
    origin.failNext(403);
    const source = createByteSource(createUrlOpener(url), { maxResumes: 3, resumeDelayMs: 10 });
    const error = await source.start().catch((caught: unknown) => caught);
    expect(NexStreamError.is(error) && error.code).toBe('NXS_LINK_EXPIRED');
    source.close();
  });

  it('retries a 503 and then succeeds', async () => {
    origin.failNext(503, { times: 2 });
    const source = createByteSource(createUrlOpener(url), { maxResumes: 3, resumeDelayMs: 10 });
    await source.start();
    expect(source.sizeBytes).toBe(file.length);
    source.close();
  });
});

describe('createByteSource over a stream', () => {
  it('reads forward and refuses to seek back past its buffer', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < file.length; offset += 64 * 1024) {
          controller.enqueue(new Uint8Array(file.subarray(offset, offset + 64 * 1024)));
        }
        controller.close();
      },
    });
    const source = createByteSource(createStreamOpener(stream, 'video stream input'), {
      sizeBytes: file.length,
      maxResumes: 0,
      resumeDelayMs: 10,
    });
    await source.start();
    source.setWindowBytes(64 * 1024);
    expect((await readAll(source)).equals(file)).toBe(true);
    // The source keeps 1 MiB behind the reader; the sample is larger, so byte 0 is gone by now.
    expect(file.length).toBeGreaterThan(1024 * 1024 + 64 * 1024);
    const error = await source.read(0).catch((caught: unknown) => caught);
    expect(NexStreamError.is(error) && error.code).toBe('NXS_UNSUPPORTED_MEDIA');
    source.close();
  });
});
