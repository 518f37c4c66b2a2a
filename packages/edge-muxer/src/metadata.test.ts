import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCover, sniffCoverType, toWorkerMetadata } from './metadata.js';

// The cover fetch runs in the mux Worker with the platform's fetch; here Node's fetch against a real
// in-process server stands in for the tunnel that serves covers.
const jpeg = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
let server: Server;
let base: string;
const seen: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push(request.headers);
    if (request.url === '/cover.jpg') {
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      response.end(jpeg);
    } else if (request.url === '/big.jpg') {
      // No Content-Length (chunked): the limit must hold while streaming.
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      response.write(jpeg);
      response.end(new Uint8Array(4096));
    } else if (request.url === '/page.html') {
      response.writeHead(200, { 'content-type': 'image/jpeg' });
      response.end('<!doctype html>');
    } else {
      response.writeHead(404);
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const signal = new AbortController().signal;

describe('cover loading', () => {
  it('fetches the cover with the inputs’ headers and tells JPEG and PNG by their bytes', async () => {
    const cover = await loadCover(
      { url: `${base}/cover.jpg`, maxBytes: 1024 },
      { defaultHeaders: { authorization: 'Bearer tunnel' }, signal },
    );
    expect(cover).toEqual({ bytes: jpeg, mimeType: 'image/jpeg' });
    expect(seen.at(-1)?.authorization).toBe('Bearer tunnel');
    expect(await loadCover({ bytes: png, maxBytes: 1024 }, { signal })).toEqual({
      bytes: png,
      mimeType: 'image/png',
    });
    expect(sniffCoverType(new TextEncoder().encode('GIF89a'))).toBeUndefined();
  });

  it('skips, never throws, for a cover over the limit, not an image, missing or unreachable', async () => {
    const skipped = async (url: string) => {
      const result = await loadCover({ url, maxBytes: 1024 }, { signal });
      return 'skipped' in result ? result.skipped : 'loaded';
    };
    expect(await skipped(`${base}/big.jpg`)).toMatch(/over the 1024-byte limit/);
    expect(await skipped(`${base}/page.html`)).toMatch(/neither a JPEG nor a PNG/);
    expect(await skipped(`${base}/missing.jpg`)).toMatch(/answered 404/);
    expect(await skipped('http://127.0.0.1:1/cover.jpg')).toMatch(/could not be fetched/);
    const big = await loadCover({ bytes: new Uint8Array(2048), maxBytes: 1024 }, { signal });
    expect(big).toEqual({ skipped: 'the cover is 2048 bytes, over the 1024-byte limit' });
  });
});

describe('toWorkerMetadata', () => {
  it('trims text, joins artists with ", ", takes a numeric year and resolves a relative cover URL', () => {
    expect(
      toWorkerMetadata(
        {
          title: ' Halo ',
          artist: ['Beyoncé', ' ', 'Guest'],
          album: '',
          year: 2008,
          cover: { url: '/api/cover/1' },
        },
        'https://app.test/resolve?q=x',
      ),
    ).toEqual({
      tags: { title: 'Halo', artist: 'Beyoncé, Guest', date: '2008' },
      cover: { url: 'https://app.test/api/cover/1', maxBytes: 2 * 1024 * 1024 },
    });
  });
});
