import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NexStreamError } from '@nexstream/core';
import { type MediaOrigin, sampleMedia, startMediaOrigin } from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ByteSource, createByteSource, createStreamOpener, createUrlOpener } from './byte-source.js';

// The byte source runs in the browser Worker, but it only needs fetch and streams: Node has both, so
// its resume and seek logic is tested here against the real media origin (Range, dropped connections).
let origin: MediaOrigin;
let file: Buffer;
let url: string;
// Larger than the read-ahead (8 MiB) twice over, so some reads are out of the transfer's reach.
let big: Buffer;
let bigUrl: string;
let scratch: string;

beforeAll(async () => {
  origin = await startMediaOrigin();
  const path = await sampleMedia('h264-video-mp4');
  file = await readFile(path);
  url = origin.add('video.mp4', path);
  scratch = await mkdtemp(join(tmpdir(), 'nexstream-byte-source-'));
  big = randomBytes(24 * 1024 * 1024);
  await writeFile(join(scratch, 'big.bin'), big);
  bigUrl = origin.add('big.bin', join(scratch, 'big.bin'));
});

afterAll(async () => {
  await origin?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/**
 * Reads the whole file through the source the way libav.js does: sequential reads at growing offsets.
 * Views are copied: their blocks are reused once the reader is 1 MiB past them.
 */
async function readAll(source: ByteSource): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let position = 0;
  while (position < source.sizeBytes) {
    const data = source.peek(position) ?? (await source.read(position));
    if (data.length === 0) break;
    parts.push(data.slice());
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

  it('serves a visit to the end of the file with one bounded request and keeps the head for the way back', async () => {
    const before = origin.requests.length;
    const source = createByteSource(createUrlOpener(bigUrl), { maxResumes: 3, resumeDelayMs: 10 });
    await source.start();
    source.setWindowBytes(256 * 1024);
    // An MP4's index at the end, as the demuxer reads it: far beyond what the transfer reaches.
    const tailAt = big.length - 30_000;
    const tail = await source.read(tailAt);
    expect(Buffer.from(tail).equals(big.subarray(tailAt))).toBe(true);
    expect(source.peek(tailAt + 1000)?.length).toBe(29_000);
    // Back to the start: still buffered, no new request.
    const head = source.peek(48) ?? (await source.read(48));
    expect(Buffer.from(head.subarray(0, 1000)).equals(big.subarray(48, 1048))).toBe(true);
    const requests = origin.requests.slice(before).map((request) => request.range);
    expect(requests).toEqual(['bytes=0-', `bytes=${tailAt}-${big.length - 1}`]);
    // The tail bytes are not counted twice: bytesIn stays within the file size.
    expect(source.bytesIn).toBeLessThanOrEqual(big.length);
    source.close();
  });

  it('moves the transfer when the demuxer keeps reading past a visit behind its buffer', async () => {
    const before = origin.requests.length;
    const source = createByteSource(createUrlOpener(bigUrl), { maxResumes: 3, resumeDelayMs: 10 });
    await source.start();
    source.setWindowBytes(256 * 1024);
    let position = 0;
    while (position < 12 * 1024 * 1024) {
      const data = source.peek(position) ?? (await source.read(position));
      position += data.length;
    }
    // Byte 100 was dropped (more than 1 MiB behind, over budget): one bounded side request serves it.
    const visit = await source.read(100);
    expect(visit.length).toBe(1024 * 1024);
    expect(Buffer.from(visit).equals(big.subarray(100, 100 + 1024 * 1024))).toBe(true);
    // Reading on past it: the transfer restarts there and serves the rest.
    const parts: Buffer[] = [];
    position = 100 + 1024 * 1024;
    while (position < big.length) {
      const data = source.peek(position) ?? (await source.read(position));
      parts.push(Buffer.from(data));
      position += data.length;
    }
    expect(Buffer.concat(parts).equals(big.subarray(100 + 1024 * 1024))).toBe(true);
    const requests = origin.requests.slice(before).map((request) => request.range);
    expect(requests).toEqual([
      'bytes=0-',
      `bytes=100-${100 + 1024 * 1024 - 1}`,
      `bytes=${100 + 1024 * 1024}-`,
    ]);
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
    // Over 10 MiB: the source keeps everything up to its read-ahead (8 MiB) + 1 MiB, then drops what is
    // more than 1 MiB (plus the rest of a 256 KiB block) behind the reader.
    const content = Buffer.concat(
      Array.from({ length: Math.ceil((11 * 1024 * 1024) / file.length) }, () => file),
    );
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < content.length; offset += 64 * 1024) {
          controller.enqueue(new Uint8Array(content.subarray(offset, offset + 64 * 1024)));
        }
        controller.close();
      },
    });
    const source = createByteSource(createStreamOpener(stream, 'video stream input'), {
      sizeBytes: content.length,
      maxResumes: 0,
      resumeDelayMs: 10,
    });
    await source.start();
    source.setWindowBytes(64 * 1024);
    expect((await readAll(source)).equals(content)).toBe(true);
    // The reader is at the end, far more than 1 MiB past byte 0: it is gone by now.
    expect(content.length).toBeGreaterThan(10 * 1024 * 1024);
    const error = await source.read(0).catch((caught: unknown) => caught);
    expect(NexStreamError.is(error) && error.code).toBe('NXS_UNSUPPORTED_MEDIA');
    source.close();
  });
});
