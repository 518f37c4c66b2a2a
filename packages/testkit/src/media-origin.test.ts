import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type MediaOrigin, parseRange, startMediaOrigin } from './media-origin.js';

const sizeBytes = 1024 * 1024;

describe('startMediaOrigin', () => {
  let scratch: string;
  let content: Buffer;
  let filePath: string;
  let origin: MediaOrigin;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nxs-origin-'));
    content = randomBytes(sizeBytes);
    filePath = join(scratch, 'video.bin');
    await writeFile(filePath, content);
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });
  beforeEach(async () => {
    origin = await startMediaOrigin();
  });
  afterEach(async () => {
    await origin.close();
  });

  it('serves a whole file with Content-Length, Accept-Ranges and a Content-Type by extension', async () => {
    const url = origin.add('video.mp4', filePath);
    expect(url).toBe(`${origin.url}/media/video.mp4`);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(sizeBytes));
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    expect(origin.requests).toEqual([
      { method: 'GET', path: '/media/video.mp4', status: 200, bytesSent: sizeBytes },
    ]);
  });

  it.each([
    ['a.m4a', 'audio/mp4'],
    ['a.webm', 'video/webm'],
    ['a.mpd', 'application/dash+xml'],
    ['a.m3u8', 'application/vnd.apple.mpegurl'],
    ['a.ts', 'video/mp2t'],
    ['a.unknown', 'application/octet-stream'],
  ])('sends the content type of %s as %s', async (name, contentType) => {
    const response = await fetch(origin.add(name, filePath), { method: 'HEAD' });
    expect(response.headers.get('content-type')).toBe(contentType);
  });

  it('lets add() override the content type', async () => {
    const response = await fetch(origin.add('stream', filePath, { contentType: 'audio/webm' }), {
      method: 'HEAD',
    });
    expect(response.headers.get('content-type')).toBe('audio/webm');
  });

  it('answers single byte ranges with 206 and Content-Range', async () => {
    const url = origin.add('video.mp4', filePath);
    const cases: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      ['bytes=1000-', 1000, sizeBytes - 1],
      ['bytes=-500', sizeBytes - 500, sizeBytes - 1],
      ['bytes=1048000-2000000', 1_048_000, sizeBytes - 1],
      ['bytes=-99999999', 0, sizeBytes - 1],
    ];
    for (const [range, start, end] of cases) {
      const response = await fetch(url, { headers: { range } });
      expect(response.status, range).toBe(206);
      expect(response.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${sizeBytes}`);
      expect(response.headers.get('content-length'), range).toBe(String(end - start + 1));
      const body = Buffer.from(await response.arrayBuffer());
      expect(body.equals(content.subarray(start, end + 1)), range).toBe(true);
    }
    expect(origin.requests.map((entry) => entry.range)).toEqual(cases.map(([range]) => range));
  });

  it('answers 416 with `Content-Range: bytes */size` for an unsatisfiable range', async () => {
    const url = origin.add('video.mp4', filePath);
    for (const range of [`bytes=${sizeBytes}-`, `bytes=${sizeBytes + 10}-${sizeBytes + 20}`, 'bytes=-0']) {
      const response = await fetch(url, { headers: { range } });
      expect(response.status, range).toBe(416);
      expect(response.headers.get('content-range'), range).toBe(`bytes */${sizeBytes}`);
      await response.arrayBuffer();
    }
  });

  it('ignores a malformed or multi-part Range and sends the whole file', async () => {
    const url = origin.add('video.mp4', filePath);
    for (const range of ['bytes=10-5', 'bytes=0-1,5-9', 'items=0-9']) {
      const response = await fetch(url, { headers: { range } });
      expect(response.status, range).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBe(sizeBytes);
    }
  });

  it('answers HEAD with the same headers and no body', async () => {
    const url = origin.add('video.mp4', filePath);
    const whole = await fetch(url, { method: 'HEAD' });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(sizeBytes));
    expect(await whole.text()).toBe('');
    const part = await fetch(url, { method: 'HEAD', headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${sizeBytes}`);
    expect(origin.requests.map((entry) => [entry.method, entry.bytesSent])).toEqual([
      ['HEAD', 0],
      ['HEAD', 0],
    ]);
  });

  it('answers 404 for unknown media and 405 for other methods', async () => {
    expect((await fetch(`${origin.url}/media/missing.mp4`)).status).toBe(404);
    expect((await fetch(`${origin.url}/elsewhere`)).status).toBe(404);
    const url = origin.add('video.mp4', filePath);
    const post = await fetch(url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('serves a signed URL until it expires, then answers 403 like a CDN', async () => {
    origin.add('video.mp4', filePath);
    const valid = origin.signedUrl('video.mp4', { expiresInMs: 60_000 });
    expect(valid).toMatch(/\/media\/video\.mp4\?expire=\d+&sig=[\w-]+$/);
    const response = await fetch(valid, { headers: { range: 'bytes=0-9' } });
    expect(response.status).toBe(206);
    await response.arrayBuffer();
    const expired = origin.signedUrl('video.mp4', { expiresInMs: 0 });
    expect((await fetch(expired)).status).toBe(403);
  });

  it('answers 403 when any part of a signed URL is tampered with', async () => {
    origin.add('video.mp4', filePath);
    origin.add('other.mp4', filePath);
    const url = new URL(origin.signedUrl('video.mp4'));
    const laterExpiry = new URL(url);
    laterExpiry.searchParams.set('expire', String(Number(url.searchParams.get('expire')) + 3600));
    const otherSignature = new URL(url);
    otherSignature.searchParams.set('sig', `${url.searchParams.get('sig')?.slice(0, -2)}AA`);
    const otherName = new URL(url);
    otherName.pathname = '/media/other.mp4';
    const noSignature = new URL(url);
    noSignature.searchParams.delete('sig');
    for (const tampered of [laterExpiry, otherSignature, otherName, noSignature]) {
      const response = await fetch(tampered);
      expect(response.status, tampered.href).toBe(403);
      await response.arrayBuffer();
    }
  });

  it('requireSignature refuses the plain URL, and expireSignedUrls invalidates every signed URL', async () => {
    const plain = origin.add('private.mp4', filePath, { requireSignature: true });
    expect((await fetch(plain, { method: 'HEAD' })).status).toBe(403);
    const signed = origin.signedUrl('private.mp4');
    expect((await fetch(signed, { method: 'HEAD' })).status).toBe(200);
    origin.expireSignedUrls();
    expect((await fetch(signed, { method: 'HEAD' })).status).toBe(403);
    expect((await fetch(origin.signedUrl('private.mp4'), { method: 'HEAD' })).status).toBe(200);
  });

  it('throttles each connection (512 KB at 256 KB/s takes at least 1.5 s)', async () => {
    const url = origin.add('video.mp4', filePath);
    origin.throttle(256 * 1024);
    const startedAt = performance.now();
    const response = await fetch(url, { headers: { range: `bytes=0-${512 * 1024 - 1}` } });
    const body = Buffer.from(await response.arrayBuffer());
    const elapsedMs = performance.now() - startedAt;
    expect(body.equals(content.subarray(0, 512 * 1024))).toBe(true);
    expect(elapsedMs).toBeGreaterThanOrEqual(1500);
    origin.throttle(undefined);
    expect(origin.requests[0]?.bytesSent).toBe(512 * 1024);
  });

  it('starts throttled when asked to, and the limit applies to requests made from then on', async () => {
    await origin.close();
    origin = await startMediaOrigin({ throttleBytesPerSecond: 64 * 1024 });
    const url = origin.add('video.mp4', filePath);
    const startedAt = performance.now();
    await (await fetch(url, { headers: { range: `bytes=0-${64 * 1024 - 1}` } })).arrayBuffer();
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(700);
  });

  it('dropAfter destroys the connection after N body bytes, `times` times; a Range request resumes', async () => {
    const url = origin.add('video.mp4', filePath);
    origin.dropAfter(100_000, { times: 1 });
    const dropped = await fetch(url);
    expect(dropped.status).toBe(200);
    expect(dropped.headers.get('content-length')).toBe(String(sizeBytes));
    await expect(dropped.arrayBuffer()).rejects.toThrow();
    expect(origin.requests[0]?.bytesSent).toBe(100_000);

    const resumed = await fetch(url, { headers: { range: 'bytes=100000-' } });
    expect(resumed.status).toBe(206);
    expect(Buffer.from(await resumed.arrayBuffer()).equals(content.subarray(100_000))).toBe(true);
  });

  it('dropAfter without times drops every longer body until cleared, and skips shorter ones', async () => {
    const url = origin.add('video.mp4', filePath);
    origin.dropAfter(1000);
    const short = await fetch(url, { headers: { range: 'bytes=0-499' } });
    expect((await short.arrayBuffer()).byteLength).toBe(500);
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await expect(fetch(url).then((response) => response.arrayBuffer())).rejects.toThrow();
    }
    origin.dropAfter(undefined);
    expect((await (await fetch(url)).arrayBuffer()).byteLength).toBe(sizeBytes);
  });

  it('failNext answers the given status for the next `times` requests', async () => {
    const url = origin.add('video.mp4', filePath);
    origin.failNext(503, { times: 2 });
    origin.failNext(403);
    const statuses: number[] = [];
    for (let index = 0; index < 4; index += 1) {
      const response = await fetch(url, { headers: { range: 'bytes=0-9' } });
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    expect(statuses).toEqual([503, 503, 403, 206]);
    expect(origin.requests.map((entry) => entry.status)).toEqual([503, 503, 403, 206]);
  });

  it('serves a directory under /files/<prefix>/ and refuses paths that climb out of it', async () => {
    const site = join(scratch, 'site');
    await mkdir(join(site, 'segments'), { recursive: true });
    await writeFile(join(site, 'manifest.mpd'), '<MPD/>');
    await writeFile(join(site, 'segments', 'chunk 1.m4s'), 'segment');
    await writeFile(join(scratch, 'secret.txt'), 'secret');
    const base = origin.addDirectory('dash', site);
    expect(base).toBe(`${origin.url}/files/dash/`);

    const manifest = await fetch(new URL('manifest.mpd', base));
    expect(manifest.headers.get('content-type')).toBe('application/dash+xml');
    expect(await manifest.text()).toBe('<MPD/>');
    expect(await (await fetch(new URL('segments/chunk%201.m4s', base))).text()).toBe('segment');
    expect((await fetch(new URL('segments', base))).status).toBe(404);
    expect((await fetch(new URL('missing.mpd', base))).status).toBe(404);

    for (const path of [
      '/files/dash/../secret.txt',
      '/files/dash/%2e%2e/secret.txt',
      '/files/dash/..%2fsecret.txt',
    ]) {
      expect(await rawStatus(origin.url, path), path).toBe(400);
    }
    expect(() => origin.addDirectory('../up', site)).toThrow(TypeError);
  });

  it('counts open connections, and close() ends transfers in progress without hanging', async () => {
    const url = origin.add('video.mp4', filePath);
    origin.throttle(16 * 1024);
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    expect(response.status).toBe(200);
    expect(origin.openConnections).toBe(1);
    const reading = response.arrayBuffer();
    await origin.close();
    await expect(reading).rejects.toThrow();
    expect(origin.openConnections).toBe(0);
    expect(origin.requests[0]?.bytesSent).toBeLessThan(sizeBytes);
  });

  it('throws on signedUrl for a name that was never added', () => {
    expect(() => origin.signedUrl('nope.mp4')).toThrow(/add\(\) it first/);
  });
});

describe('parseRange', () => {
  it.each([
    [undefined, 100, undefined],
    ['bytes=0-0', 100, { start: 0, end: 0 }],
    ['bytes=90-', 100, { start: 90, end: 99 }],
    ['bytes=-10', 100, { start: 90, end: 99 }],
    ['bytes=50-500', 100, { start: 50, end: 99 }],
    ['bytes=100-', 100, 'unsatisfiable'],
    ['bytes=-0', 100, 'unsatisfiable'],
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=5-1', 100, undefined],
    ['bytes=-', 100, undefined],
    ['bytes=0-1,3-4', 100, undefined],
  ] as const)('parses %s against %i bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

function rawStatus(base: string, path: string): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ hostname, port, path, method: 'GET', agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}
