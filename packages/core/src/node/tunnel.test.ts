import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MediaOrigin, startMediaOrigin, startReplayServer } from '@nexstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NexStreamError } from '../errors.js';
import {
  contentDisposition,
  createTunnel,
  type Tunnel,
  type TunnelEvent,
  type TunnelOptions,
  type TunnelTarget,
} from './tunnel.js';

const secret = 'tunnel-test-secret-0123456789-abcdefghijklmnop';

interface Fetched {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  complete: boolean;
}

/** A GET/HEAD with node:http (no pooling, so a hang-up is a real socket close). */
function get(
  url: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: init.method ?? 'GET', headers: init.headers, agent: false },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        const finish = (): void =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(parts),
            complete: response.complete,
          });
        response.on('end', finish);
        response.on('error', finish);
        response.on('aborted', finish);
      },
    );
    request.on('error', reject);
    request.end();
  });
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

interface Harness {
  tunnel: Tunnel;
  server: Server;
  base: string;
  lookups: number;
  refreshes: number;
  close(): Promise<void>;
}

async function startTunnel(
  resolveTarget: () => TunnelTarget | Promise<TunnelTarget>,
  options: Partial<TunnelOptions> = {},
  refreshTarget?: () => TunnelTarget | Promise<TunnelTarget>,
): Promise<Harness> {
  const harness = { lookups: 0, refreshes: 0 } as Harness;
  harness.tunnel = createTunnel({
    secret,
    allowedHosts: ['127.0.0.1:*'],
    allowLoopback: true,
    parallel: 4,
    chunkBytes: 64 * 1024,
    retryDelayMs: 1,
    lookupMedia: async () => {
      harness.lookups += 1;
      return resolveTarget();
    },
    refresh: async () => {
      harness.refreshes += 1;
      return (refreshTarget ?? resolveTarget)();
    },
    ...options,
  });
  harness.server = createServer((request, response) => {
    void harness.tunnel.handle(request, response);
  });
  await new Promise<void>((resolve) => harness.server.listen(0, '127.0.0.1', resolve));
  harness.base = `http://127.0.0.1:${(harness.server.address() as AddressInfo).port}`;
  harness.close = async () => {
    harness.server.closeAllConnections();
    await new Promise<void>((resolve) => harness.server.close(() => resolve()));
    await harness.tunnel.close();
  };
  return harness;
}

let directory: string;
let sourcePath: string;
let source: Buffer;
let origin: MediaOrigin;
const harnesses: Harness[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'nexstream-tunnel-'));
  source = randomBytes(3 * 1024 * 1024 + 12_345);
  sourcePath = join(directory, 'source.mp4');
  await writeFile(sourcePath, source);
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close();
  await origin?.close();
});

async function withOrigin(): Promise<string> {
  origin = await startMediaOrigin();
  return origin.add('source.mp4', sourcePath, { requireSignature: true });
}

async function tunnelFor(
  options: Partial<TunnelOptions> = {},
  target: Partial<TunnelTarget> = {},
): Promise<Harness> {
  await withOrigin();
  const harness = await startTunnel(
    () => ({
      url: origin.signedUrl('source.mp4'),
      sizeBytes: source.length,
      contentType: 'video/mp4',
      ...target,
    }),
    options,
  );
  harnesses.push(harness);
  return harness;
}

describe('the tunnel serving a token', () => {
  it('delivers the exact bytes with length, type, ranges and an RFC 6266 file name', async () => {
    const harness = await tunnelFor({}, { filename: 'Beyoncé – “Halo”.mp4' });
    const token = harness.tunnel.mintToken({ mediaId: 'youtube:abc', formatId: '18' });
    const response = await get(`${harness.base}/tunnel/${token}`);
    expect(response.status).toBe(200);
    expect(sha256(response.body)).toBe(sha256(source));
    expect(response.headers['content-length']).toBe(String(source.length));
    expect(response.headers['accept-ranges']).toBe('bytes');
    expect(response.headers['content-type']).toBe('video/mp4');
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="Beyonce - 'Halo'.mp4"; filename*=UTF-8''Beyonc%C3%A9%20%E2%80%93%20%E2%80%9CHalo%E2%80%9D.mp4`,
    );
    // Parallel ranges: several 64 KiB requests, each a 206.
    const ranged = origin.requests.filter((entry) => entry.range);
    expect(ranged.length).toBe(Math.ceil(source.length / (64 * 1024)));
    expect(ranged.every((entry) => entry.status === 206)).toBe(true);
  });

  it('answers HEAD without fetching the body, and client ranges with 206 or 416', async () => {
    const harness = await tunnelFor();
    const token = harness.tunnel.mintToken({
      mediaId: 'm',
      formatId: 'f',
      options: { filename: 'clip.mp4', disposition: 'inline' },
    });
    const head = await get(`${harness.base}/tunnel/${token}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(source.length));
    expect(head.headers['content-disposition']).toBe(
      `inline; filename="clip.mp4"; filename*=UTF-8''clip.mp4`,
    );
    expect(origin.requests).toHaveLength(0);

    const middle = await get(`${harness.base}/t?token=${token}`, {
      headers: { range: 'bytes=100000-300000' },
    });
    expect(middle.status).toBe(206);
    expect(middle.headers['content-range']).toBe(`bytes 100000-300000/${source.length}`);
    expect(middle.body.equals(source.subarray(100_000, 300_001))).toBe(true);

    const suffix = await get(`${harness.base}/tunnel/${token}`, { headers: { range: 'bytes=-1000' } });
    expect(suffix.status).toBe(206);
    expect(suffix.body.equals(source.subarray(source.length - 1000))).toBe(true);

    const outside = await get(`${harness.base}/tunnel/${token}`, {
      headers: { range: `bytes=${source.length}-` },
    });
    expect(outside.status).toBe(416);
    expect(outside.headers['content-range']).toBe(`bytes */${source.length}`);
    expect(JSON.parse(outside.body.toString()).error.code).toBe('NXS_RANGE_NOT_SATISFIABLE');
  });

  it('asks the origin for the size and type once when the resolver does not know them', async () => {
    const harness = await tunnelFor({}, { sizeBytes: undefined, contentType: undefined });
    const token = harness.tunnel.mintToken({ mediaId: 'm', formatId: 'f' });
    const response = await get(`${harness.base}/tunnel/${token}`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('video/mp4');
    expect(sha256(response.body)).toBe(sha256(source));
    expect(origin.requests[0]?.range).toBe('bytes=0-0');
  });

  it('answers 404 when the resolver does not know the media, and 405 for other methods', async () => {
    await withOrigin();
    const harness = await startTunnel(() => {
      throw new NexStreamError('NXS_NOT_FOUND', 'no such media');
    });
    harnesses.push(harness);
    const token = harness.tunnel.mintToken({ mediaId: 'm', formatId: 'f' });
    expect((await get(`${harness.base}/tunnel/${token}`)).status).toBe(404);
    const post = await get(`${harness.base}/tunnel/${token}`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('keeps memory bounded: a client that stops reading stops the fetching', async () => {
    const big = randomBytes(40 * 1024 * 1024);
    const bigPath = join(directory, 'big.bin');
    await writeFile(bigPath, big);
    origin = await startMediaOrigin();
    const url = origin.add('big.bin', bigPath);
    const harness = await startTunnel(() => ({ url, sizeBytes: big.length }), {
      parallel: 2,
      chunkBytes: 1024 * 1024,
    });
    harnesses.push(harness);
    const token = harness.tunnel.mintToken({ mediaId: 'm', formatId: 'f' });
    const sentWhilePaused = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(`${harness.base}/tunnel/${token}`, { agent: false }, (response) => {
        response.once('data', () => {
          response.pause();
          setTimeout(() => {
            resolve(origin.requests.reduce((sum, entry) => sum + entry.bytesSent, 0));
            request.destroy();
          }, 500);
        });
      });
      request.on('error', () => {});
      request.on('close', () => {});
      request.once('error', reject);
      request.end();
    });
    // The window (2 × 1 MiB) plus what the loopback socket buffers hold: far less than the 40 MiB file.
    expect(sentWhilePaused).toBeLessThan(16 * 1024 * 1024);
  });

  it('writes the exact bytes in order to a client that reads in bursts, across many chunks', async () => {
    // 16 KiB chunks, 3 in flight: about 200 chunks whose bytes arrive ahead of their turn, while the client's
    // pauses make the response refuse writes (write() false, then 'drain') again and again.
    const harness = await tunnelFor({ parallel: 3, chunkBytes: 16 * 1024 });
    const token = harness.tunnel.mintToken({ mediaId: 'm', formatId: 'f' });
    const read = (range?: string): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        const request = httpRequest(
          `${harness.base}/tunnel/${token}`,
          { agent: false, headers: range ? { range } : {} },
          (response) => {
            const parts: Buffer[] = [];
            let sincePause = 0;
            response.on('data', (part: Buffer) => {
              parts.push(part);
              sincePause += part.byteLength;
              if (sincePause >= 256 * 1024) {
                sincePause = 0;
                response.pause();
                setTimeout(() => response.resume(), 15);
              }
            });
            response.on('end', () => resolve(Buffer.concat(parts)));
            response.on('error', reject);
          },
        );
        request.on('error', reject);
        request.end();
      });
    const whole = await read();
    expect(whole.length).toBe(source.length);
    expect(sha256(whole)).toBe(sha256(source));
    const from = 1_000_003;
    const to = 2_500_000;
    const part = await read(`bytes=${from}-${to}`);
    expect(sha256(part)).toBe(sha256(source.subarray(from, to + 1)));
  });

  it('aborts every upstream request within 100 ms of the client hanging up', async () => {
    const harness = await tunnelFor();
    origin.throttle(128 * 1024);
    const token = harness.tunnel.mintToken({ mediaId: 'm', formatId: 'f' });
    const hungUpAt = await new Promise<number>((resolve) => {
      const request = httpRequest(`${harness.base}/tunnel/${token}`, { agent: false }, (response) => {
        response.once('data', () => {
          setTimeout(() => {
            const at = performance.now();
            request.destroy();
            resolve(at);
          }, 100);
        });
      });
      request.on('error', () => {});
      request.end();
    });
    expect(origin.openConnections).toBeGreaterThan(0);
    while (origin.openConnections > 0 && performance.now() - hungUpAt < 2000) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(origin.openConnections).toBe(0);
    expect(performance.now() - hungUpAt).toBeLessThan(100);
  });
});

describe('the tunnel under origin faults', () => {
  it('delivers the exact bytes in 100 runs with drops, expiring links and 5xx at random offsets', async () => {
    await withOrigin();
    const harness = await startTunnel(
      () => ({ url: origin.signedUrl('source.mp4'), sizeBytes: source.length, contentType: 'video/mp4' }),
      { maxRetries: 6 },
    );
    harnesses.push(harness);
    const expectedHash = sha256(source);
    const faultsSeen = { drop: 0, expire: 0, status: 0 };
    for (let run = 0; run < 100; run += 1) {
      const kind = (['drop', 'expire', 'status'] as const)[run % 3] as 'drop' | 'expire' | 'status';
      const triggerAt = Math.floor(Math.random() * (source.length - 1));
      const ranged = run % 10 === 9;
      const start = ranged ? Math.floor(Math.random() * 1_000_000) : 0;
      const token = harness.tunnel.mintToken({ mediaId: `m${run}`, formatId: 'f' });
      const requestsBefore = origin.requests.length;
      const refreshesBefore = harness.refreshes;
      let fired = false;
      const fire = (): void => {
        if (fired) return;
        fired = true;
        faultsSeen[kind] += 1;
        if (kind === 'drop') {
          origin.dropAfter(Math.floor(Math.random() * 64 * 1024), {
            times: 1 + Math.floor(Math.random() * 3),
          });
        } else if (kind === 'expire') {
          origin.expireSignedUrls();
        } else {
          origin.failNext([500, 502, 503][run % 3] as number, { times: 1 + Math.floor(Math.random() * 3) });
        }
      };
      const body = await new Promise<Buffer>((resolve, reject) => {
        const request = httpRequest(
          `${harness.base}/tunnel/${token}`,
          { agent: false, headers: ranged ? { range: `bytes=${start}-` } : {} },
          (response) => {
            const parts: Buffer[] = [];
            let received = 0;
            response.on('data', (part: Buffer) => {
              parts.push(part);
              received += part.length;
              if (received >= triggerAt - start) fire();
            });
            response.on('end', () =>
              response.complete ? resolve(Buffer.concat(parts)) : reject(new Error('cut')),
            );
            response.on('error', reject);
          },
        );
        request.on('error', reject);
        request.end();
      });
      origin.dropAfter(undefined);
      expect(sha256(body), `run ${run} (${kind} at ${triggerAt})`).toBe(
        ranged ? sha256(source.subarray(start)) : expectedHash,
      );
      if (
        kind === 'expire' &&
        fired &&
        origin.requests.slice(requestsBefore).some((entry) => entry.status === 403)
      ) {
        expect(harness.refreshes).toBeGreaterThan(refreshesBefore);
      }
    }
    expect(faultsSeen.drop + faultsSeen.expire + faultsSeen.status).toBeGreaterThan(80);
    expect(origin.requests.some((entry) => entry.status === 403)).toBe(true);
    expect(origin.requests.some((entry) => entry.status >= 500)).toBe(true);
  }, 120_000);

  it('answers 502 when the origin keeps answering the wrong range', async () => {
    const replay = await startReplayServer();
    try {
      replay.on('GET', '/bad', {
        status: 206,
        headers: { 'content-range': 'bytes 5-9/1000000' },
        body: 'hello',
      });
      const harness = await startTunnel(() => ({ url: `${replay.url}/bad`, sizeBytes: 1_000_000 }), {
        maxRetries: 2,
      });
      harnesses.push(harness);
      const token = harness.tunnel.mintToken({ mediaId: 'm', formatId: 'f' });
      const response = await get(`${harness.base}/tunnel/${token}`);
      expect(response.status).toBe(502);
      // Every parallel chunk gets the wrong range; whichever runs out of retries first is the one reported.
      expect(JSON.parse(response.body.toString()).error.message).toMatch(/asked for bytes \d+-\d+, got 5-9/);
    } finally {
      await replay.close();
    }
  });
});

describe('the tunnel over short-lived links', () => {
  it('completes a transfer that needs many more refreshes than maxRefreshes, with the exact bytes', async () => {
    await withOrigin();
    const events: TunnelEvent[] = [];
    const harness = await startTunnel(
      () => ({ url: origin.signedUrl('source.mp4'), sizeBytes: source.length, contentType: 'video/mp4' }),
      { maxRefreshes: 2, onEvent: (event) => events.push(event) },
    );
    harnesses.push(harness);
    // 4 connections at 512 KB/s: about 1.5 s for the 3 MB file, while the CDN rotates its key every 100 ms.
    origin.throttle(512 * 1024);
    const rotation = setInterval(() => origin.expireSignedUrls(), 100);
    try {
      const token = harness.tunnel.mintToken({ mediaId: 'm', formatId: 'f' });
      const response = await get(`${harness.base}/tunnel/${token}`);
      expect(response.complete).toBe(true);
      expect(sha256(response.body)).toBe(sha256(source));
    } finally {
      clearInterval(rotation);
    }
    expect(harness.refreshes).toBeGreaterThan(3 * 2);
    expect(events.filter((event) => event.type === 'error')).toEqual([]);
    const refreshes = events.filter((event) => event.type === 'refresh');
    expect(refreshes.length).toBe(harness.refreshes);
    expect(refreshes.every((event) => event.inARow <= 2)).toBe(true);
  }, 30_000);

  it('fails after maxRefreshes refreshes in a row that bring no byte, and says so', async () => {
    await withOrigin();
    const errors: NexStreamError[] = [];
    const harness = await startTunnel(
      () => ({ url: origin.signedUrl('source.mp4'), sizeBytes: source.length, contentType: 'video/mp4' }),
      { maxRefreshes: 3, onEvent: (event) => event.type === 'error' && errors.push(event.error) },
      // Every refreshed link is refused: it expired before it was handed out.
      () => ({ url: origin.signedUrl('source.mp4', { expiresInMs: 0 }), sizeBytes: source.length }),
    );
    harnesses.push(harness);
    origin.throttle(512 * 1024);
    const token = harness.tunnel.mintToken({ mediaId: 'm', formatId: 'f' });
    const response = await new Promise<{ complete: boolean; received: number }>((resolve, reject) => {
      const request = httpRequest(`${harness.base}/tunnel/${token}`, { agent: false }, (incoming) => {
        let received = 0;
        incoming.on('data', (part: Buffer) => {
          if (received === 0) origin.expireSignedUrls();
          received += part.length;
        });
        const finish = (): void => resolve({ complete: incoming.complete, received });
        incoming.on('end', finish);
        incoming.on('error', finish);
        incoming.on('aborted', finish);
      });
      request.on('error', reject);
      request.end();
    });
    expect(response.complete).toBe(false);
    expect(response.received).toBeGreaterThan(0);
    expect(response.received).toBeLessThan(source.length);
    expect(harness.refreshes).toBe(3);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('NXS_LINK_EXPIRED');
    expect(errors[0]?.message).toMatch(
      /^origin answered 403 at byte \d+ \(.*\) and the last 3 link refreshes in a row brought no new byte \(3 in this transfer\)$/,
    );
    expect(errors[0]?.details).toMatchObject({ status: 403, fruitlessRefreshes: 3, refreshes: 3 });
  }, 30_000);
});

describe('the tunnel refusing what it must not serve', () => {
  it('answers 403 to tampered, expired and other-media tokens without any upstream request', async () => {
    let clock = 1_800_000_000_000;
    const harness = await tunnelFor({ now: () => clock });
    const good = harness.tunnel.mintToken({
      mediaId: 'youtube:aaaaaaaaaaa',
      formatId: '18',
      expiresInMs: 60_000,
    });
    const other = harness.tunnel.mintToken({ mediaId: 'youtube:bbbbbbbbbbb', formatId: '18' });
    const [version, , signature] = good.split('.');
    const otherMedia = `${version}.${other.split('.')[1]}.${signature}`;
    const tampered = `${good.slice(0, 12)}${good[12] === 'A' ? 'B' : 'A'}${good.slice(13)}`;
    const foreign = createTunnel({
      secret: `${secret}-another-server`,
      lookupMedia: async () => ({ url: 'http://127.0.0.1/' }),
    }).mintToken({ mediaId: 'youtube:aaaaaaaaaaa', formatId: '18' });
    for (const token of [tampered, otherMedia, foreign, 'garbage']) {
      const response = await get(`${harness.base}/tunnel/${token}`);
      expect(response.status, token).toBe(403);
      expect(JSON.parse(response.body.toString()).error.code).toBe('NXS_FORBIDDEN');
    }
    expect((await get(`${harness.base}/tunnel/`)).status).toBe(403);
    clock += 60_000;
    const expired = await get(`${harness.base}/tunnel/${good}`);
    expect(expired.status).toBe(403);
    expect(JSON.parse(expired.body.toString()).error.message).toMatch(/expired/);
    expect(harness.lookups).toBe(0);
    expect(origin.requests).toHaveLength(0);
  });

  it('refuses hostile origin URLs without connecting to them', async () => {
    const hostile = [
      'http://10.0.0.1/videoplayback',
      'http://192.168.1.1/',
      'http://172.16.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://0.0.0.0/',
      'http://[::1]/',
      'http://[fd00::1]/',
      'http://[::ffff:10.0.0.1]/',
      'file:///etc/passwd',
      'http://localhost/videoplayback',
      'https://rr1---sn-hostile.googlevideo.com/videoplayback',
      `https://rr2---sn-long.googlevideo.com/videoplayback?${'x'.repeat(5000)}`,
      'https://evil.example/videoplayback',
    ];
    let target = '';
    const harness = await startTunnel(() => ({ url: target, sizeBytes: 1000 }), {
      allowLoopback: false,
      allowedHosts: [
        '10.0.0.1',
        '192.168.1.1',
        '172.16.0.1',
        '169.254.169.254',
        '0.0.0.0',
        '::1',
        'fd00::1',
        '::ffff:10.0.0.1',
        'localhost',
        '*.googlevideo.com',
      ],
      // A CDN host name that resolves to loopback (DNS rebinding or a poisoned resolver).
      lookup: async (hostname) =>
        hostname === 'localhost'
          ? [{ address: '127.0.0.1', family: 4 }]
          : [{ address: '127.0.0.1', family: 4 }],
    });
    harnesses.push(harness);
    for (const url of hostile) {
      target = url;
      const token = harness.tunnel.mintToken({ mediaId: 'm', formatId: 'f' });
      const response = await get(`${harness.base}/tunnel/${token}`);
      expect(response.status, url.slice(0, 80)).toBe(403);
      expect(JSON.parse(response.body.toString()).error.code).toBe('NXS_FORBIDDEN');
    }
  });

  it('refuses a redirect into a private range or another host, after exactly one request', async () => {
    const replay = await startReplayServer();
    try {
      const harness = await startTunnel(() => ({ url: `${replay.url}/hop`, sizeBytes: 1000 }), {
        allowedHosts: ['127.0.0.1:*', '169.254.169.254', '10.0.0.1:*'],
      });
      harnesses.push(harness);
      for (const location of [
        'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
        'http://10.0.0.1:8080/admin',
        'http://evil.example/steal',
        'file:///etc/shadow',
      ]) {
        replay.reset();
        replay.on('GET', '/hop', { status: 302, headers: { location } });
        const token = harness.tunnel.mintToken({ mediaId: 'm', formatId: 'f' });
        const response = await get(`${harness.base}/tunnel/${token}`);
        expect(response.status, location).toBe(403);
        expect(JSON.parse(response.body.toString()).error.code).toBe('NXS_FORBIDDEN');
        expect(replay.requests.length, location).toBeGreaterThanOrEqual(1);
        expect(replay.requests.every((entry) => entry.path === '/hop')).toBe(true);
      }
    } finally {
      await replay.close();
    }
  });

  it('writes safe file names', () => {
    expect(contentDisposition('../../etc/passwd')).toBe(
      `attachment; filename=".._.._etc_passwd"; filename*=UTF-8''.._.._etc_passwd`,
    );
    expect(contentDisposition('a"b\\c%20\r\n.mp3')).toBe(
      `attachment; filename="a_b_c_20_.mp3"; filename*=UTF-8''a%22b_c%2520_.mp3`,
    );
    expect(contentDisposition('  ')).toBe(`attachment; filename="download"; filename*=UTF-8''download`);
  });
});
