import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { NexStreamError } from '@nexstream/core';
import { createTunnel, type Tunnel } from '@nexstream/core/node';
import {
  childProcessIds,
  type MediaOrigin,
  probeMedia,
  sampleMedia,
  startMediaOrigin,
} from '@nexstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { muxOnServer, type ServerMuxOptions } from '../src/server/index.js';
import { copiedPacketHashes } from './browser-harness.js';

function run(file: string, args: string[], input?: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')} failed: ${stderr}`));
      else resolve(String(stdout));
    });
    if (input) child.stdin?.end(input);
  });
}

let directory: string;
let origin: MediaOrigin;
const urls: Record<string, string> = {};
const paths: Record<string, string> = {};
let cover: Buffer;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'nexstream-server-mux-'));
  origin = await startMediaOrigin();
  const samples = {
    h264: await sampleMedia('h264-video-mp4', { durationS: 4, width: 320, height: 180 }),
    aac: await sampleMedia('aac-audio-m4a', { durationS: 4 }),
    vp9: await sampleMedia('vp9-video-webm', { durationS: 4, width: 320, height: 180 }),
    opus: await sampleMedia('opus-audio-webm', { durationS: 4 }),
  };
  for (const [name, path] of Object.entries(samples)) {
    paths[name] = path;
    urls[name] = origin.add(`${name}${path.slice(path.lastIndexOf('.'))}`, path);
  }
  const coverPath = join(directory, 'cover.jpg');
  await run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=300x300',
    '-frames:v',
    '1',
    coverPath,
  ]);
  cover = await readFile(coverPath);
});

afterAll(async () => {
  await origin?.close();
  await rm(directory, { recursive: true, force: true });
});

async function muxToFile(
  options: ServerMuxOptions,
  name: string,
): Promise<{ path: string; contentType: string }> {
  const stream = await muxOnServer(options);
  const path = join(directory, name);
  await pipeline(stream, createWriteStream(path));
  await stream.done;
  return { path, contentType: stream.contentType };
}

describe('muxOnServer', () => {
  it('stream-copies H.264 + AAC into fragmented MP4 with the same packets as ffmpeg -c copy', async () => {
    const out = await muxToFile(
      {
        video: urls.h264 as string,
        audio: urls.aac as string,
        container: 'mp4',
        metadata: {
          title: 'Halo',
          artists: ['Beyoncé'],
          album: 'I Am… Sasha Fierce',
          releaseDate: '2008-11-14',
        },
      },
      'h264-aac.mp4',
    );
    expect(out.contentType).toBe('video/mp4');
    const probed = await probeMedia(out.path);
    expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['h264', 'aac']);
    const head = await readFile(out.path);
    expect(head.subarray(4, 8).toString()).toBe('ftyp');
    expect(head.includes(Buffer.from('moof'))).toBe(true);
    const tags = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format_tags',
      '-of',
      'json',
      out.path,
    ]);
    expect(JSON.parse(tags).format.tags).toMatchObject({
      title: 'Halo',
      artist: 'Beyoncé',
      album: 'I Am… Sasha Fierce',
    });
    const ours = await copiedPacketHashes([out.path], ['0']);
    const reference = await copiedPacketHashes(
      [paths.h264 as string, paths.aac as string],
      ['0:v:0', '1:a:0'],
    );
    expect(ours).toEqual(reference);
    expect(ours[0]?.length).toBeGreaterThan(100);
  });

  it('stream-copies VP9 + Opus into WebM with the same packets as ffmpeg -c copy', async () => {
    const out = await muxToFile(
      {
        video: urls.vp9 as string,
        audio: urls.opus as string,
        container: 'webm',
        metadata: { title: 'Ünïcode ✓' },
      },
      'vp9-opus.webm',
    );
    expect(out.contentType).toBe('video/webm');
    const probed = await probeMedia(out.path);
    expect(probed.formatName).toContain('webm');
    expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['vp9', 'opus']);
    const ours = await copiedPacketHashes([out.path], ['0']);
    const reference = await copiedPacketHashes(
      [paths.vp9 as string, paths.opus as string],
      ['0:v:0', '1:a:0'],
    );
    expect(ours).toEqual(reference);
  });

  it('reads its inputs through the tunnel', async () => {
    const tunnel: Tunnel = createTunnel({
      secret: 'server-mux-test-secret-0123456789abcdef',
      allowedHosts: ['127.0.0.1:*'],
      allowLoopback: true,
      chunkBytes: 64 * 1024,
      lookupMedia: async (_mediaId, formatId) => ({ url: urls[formatId] as string }),
    });
    const server: Server = createServer((request, response) => void tunnel.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tunnel/`;
    try {
      const out = await muxToFile(
        {
          video: base + tunnel.mintToken({ mediaId: 'youtube:x', formatId: 'h264' }),
          audio: base + tunnel.mintToken({ mediaId: 'youtube:x', formatId: 'aac' }),
          container: 'mkv',
          metadata: { title: 'Through the tunnel', cover: { data: cover, mimeType: 'image/jpeg' } },
        },
        'tunnel.mkv',
      );
      const probed = await probeMedia(out.path);
      expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['h264', 'aac', 'mjpeg']);
      const ours = await copiedPacketHashes([out.path], ['0:v:0', '0:a:0']);
      const reference = await copiedPacketHashes(
        [paths.h264 as string, paths.aac as string],
        ['0:v:0', '1:a:0'],
      );
      expect(ours).toEqual(reference);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await tunnel.close();
    }
  });

  it('copies audio-only jobs into M4A and Opus with tags', async () => {
    const m4a = await muxToFile(
      { audio: urls.aac as string, container: 'm4a', metadata: { title: 'Song', artists: ['A', 'B'] } },
      'audio.m4a',
    );
    expect(m4a.contentType).toBe('audio/mp4');
    expect((await probeMedia(m4a.path)).streams.map((stream) => stream.codec_name)).toEqual(['aac']);
    expect(await copiedPacketHashes([m4a.path], ['0'])).toEqual(
      await copiedPacketHashes([paths.aac as string], ['0:a:0']),
    );
    const m4aTags = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format_tags',
      '-of',
      'json',
      m4a.path,
    ]);
    expect(JSON.parse(m4aTags).format.tags).toMatchObject({ title: 'Song', artist: 'A, B' });

    const opus = await muxToFile(
      { audio: urls.opus as string, container: 'opus', metadata: { title: 'Song' } },
      'audio.opus',
    );
    const probed = await probeMedia(opus.path);
    expect(probed.formatName).toBe('ogg');
    expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['opus']);
    const opusTags = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream_tags',
      '-of',
      'json',
      opus.path,
    ]);
    expect(JSON.stringify(JSON.parse(opusTags))).toContain('Song');
  });

  it('transcodes to MP3 with an ID3 tag carrying the cover art', async () => {
    const mp3 = await muxToFile(
      {
        audio: urls.opus as string,
        container: 'mp3',
        metadata: {
          title: 'Déjà vu',
          artists: ['Olivia'],
          album: 'SOUR',
          releaseDate: '2021',
          cover: { data: cover, mimeType: 'image/jpeg' },
        },
      },
      'audio.mp3',
    );
    expect(mp3.contentType).toBe('audio/mpeg');
    const probed = await probeMedia(mp3.path);
    expect(probed.streams.map((stream) => stream.codec_name)).toEqual(['mp3', 'mjpeg']);
    expect(probed.durationS).toBeGreaterThan(3.5);
    const tags = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format_tags',
      '-of',
      'json',
      mp3.path,
    ]);
    expect(JSON.parse(tags).format.tags).toMatchObject({ title: 'Déjà vu', artist: 'Olivia', album: 'SOUR' });
    const picture = await run('ffmpeg', [
      '-v',
      'error',
      '-i',
      mp3.path,
      '-map',
      '0:v',
      '-c',
      'copy',
      '-f',
      'md5',
      '-',
    ]);
    const original = await run(
      'ffmpeg',
      ['-v', 'error', '-f', 'image2pipe', '-i', 'pipe:0', '-c', 'copy', '-f', 'md5', '-'],
      cover,
    );
    expect(picture).toBe(original);
  });

  it("turns ffmpeg's failure into NXS_PROCESS_FAILED with its last stderr lines", async () => {
    const before = childProcessIds();
    const stream = await muxOnServer({
      video: `${origin.url}/media/missing.mp4`,
      audio: urls.aac as string,
      container: 'mp4',
    });
    stream.on('error', () => {}).resume();
    const error = await stream.done.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(NexStreamError.is(error) && error.code).toBe('NXS_PROCESS_FAILED');
    expect((error as Error).message).toMatch(/404|Not Found/i);
    expect(childProcessIds()).toEqual(before);
  });

  it('kills ffmpeg when the signal aborts or the consumer leaves, leaving no process behind', async () => {
    origin.throttle(64 * 1024);
    try {
      const before = childProcessIds();
      const controller = new AbortController();
      const aborted = await muxOnServer({
        video: urls.h264 as string,
        audio: urls.aac as string,
        container: 'mp4',
        signal: controller.signal,
      });
      expect(childProcessIds()).toContain(aborted.pid);
      aborted.on('error', () => {}).resume();
      await new Promise((resolve) => setTimeout(resolve, 300));
      controller.abort();
      const error = await aborted.done.then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(NexStreamError.is(error) && error.code).toBe('NXS_ABORTED');
      expect(childProcessIds()).toEqual(before);

      const left = await muxOnServer({
        video: urls.vp9 as string,
        audio: urls.opus as string,
        container: 'webm',
      });
      expect(childProcessIds()).toContain(left.pid);
      await new Promise((resolve) => setTimeout(resolve, 300));
      left.destroy();
      await left.done.catch(() => {});
      expect(childProcessIds()).toEqual(before);
    } finally {
      origin.throttle(undefined);
    }
  });

  it('refuses non-http inputs and video in an audio container before starting ffmpeg', async () => {
    const codeOf = async (options: ServerMuxOptions): Promise<string | undefined> =>
      muxOnServer(options).then(
        () => undefined,
        (error: unknown) => (NexStreamError.is(error) ? error.code : 'other'),
      );
    expect(await codeOf({ audio: 'file:///etc/passwd', container: 'm4a' })).toBe('NXS_INVALID_INPUT');
    expect(await codeOf({ video: urls.h264 as string, audio: urls.aac as string, container: 'mp3' })).toBe(
      'NXS_INVALID_INPUT',
    );
  });
});
