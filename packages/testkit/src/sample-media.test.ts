import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { locateProgram } from '@nexstream/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  probeMedia,
  type SampleKind,
  sampleCacheDirectory,
  sampleDash,
  sampleMedia,
} from './sample-media.js';

const small = { durationS: 2, width: 320, height: 180 } as const;
const workspaceRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('sampleMedia', () => {
  const expectations: Array<[SampleKind, string[], string]> = [
    ['h264-aac-mp4', ['video:h264', 'audio:aac'], 'mov,mp4'],
    ['h264-video-mp4', ['video:h264'], 'mov,mp4'],
    ['aac-audio-m4a', ['audio:aac'], 'mov,mp4'],
    ['vp9-video-webm', ['video:vp9'], 'matroska,webm'],
    ['opus-audio-webm', ['audio:opus'], 'matroska,webm'],
    ['vp9-opus-webm', ['video:vp9', 'audio:opus'], 'matroska,webm'],
  ];

  it.each(expectations)('makes %s that ffprobe reads as %j', async (kind, streams, format) => {
    const path = await sampleMedia(kind, small);
    expect(path.startsWith(sampleCacheDirectory())).toBe(true);
    const probed = await probeMedia(path);
    expect(probed.formatName).toContain(format);
    expect(probed.streams.map((stream) => `${stream.codec_type}:${stream.codec_name}`)).toEqual(streams);
    expect(probed.durationS).toBeGreaterThan(1.9);
    expect(probed.durationS).toBeLessThan(2.2);
    for (const stream of probed.streams) {
      if (stream.codec_type === 'video') expect([stream.width, stream.height]).toEqual([320, 180]);
      if (stream.codec_type === 'audio') {
        expect(stream.channels).toBe(2);
        expect(stream.sample_rate).toBe('48000');
      }
    }
  });

  it('honours duration, size, mono, sample rate and silence', async () => {
    const mono = await probeMedia(
      await sampleMedia('h264-aac-mp4', {
        durationS: 3,
        width: 256,
        height: 144,
        audio: 'mono',
        sampleRateHz: 44_100,
      }),
    );
    expect(mono.durationS).toBeGreaterThan(2.9);
    expect(mono.durationS).toBeLessThan(3.2);
    expect(mono.streams.find((stream) => stream.codec_type === 'video')).toMatchObject({
      width: 256,
      height: 144,
    });
    expect(mono.streams.find((stream) => stream.codec_type === 'audio')).toMatchObject({
      channels: 1,
      sample_rate: '44100',
    });

    const silentMp4 = await probeMedia(await sampleMedia('h264-aac-mp4', { ...small, audio: 'none' }));
    expect(silentMp4.streams.map((stream) => stream.codec_type)).toEqual(['video']);
    const silentWebm = await probeMedia(await sampleMedia('vp9-opus-webm', { ...small, audio: 'none' }));
    expect(silentWebm.streams.map((stream) => stream.codec_type)).toEqual(['video']);
  });

  it('puts a keyframe every gopS seconds and frames that differ', async () => {
    const path = await sampleMedia('h264-video-mp4', { durationS: 4, width: 320, height: 180, gopS: 1 });
    const ffprobe = await locateProgram('ffprobe');
    const { stdout } = await promisify(execFile)(ffprobe.path, [
      '-v',
      'error',
      '-select_streams',
      'v',
      '-show_entries',
      'packet=pts_time,flags,size',
      '-of',
      'json',
      path,
    ]);
    const packets = (
      JSON.parse(stdout) as { packets: Array<{ pts_time: string; flags: string; size: string }> }
    ).packets;
    const keyframes = packets
      .filter((packet) => packet.flags.startsWith('K'))
      .map((packet) => Number(packet.pts_time));
    expect(keyframes).toEqual([0, 1, 2, 3]);
    // A static picture would encode to near-empty P-frames; a moving one does not.
    const interFrames = packets.filter((packet) => !packet.flags.startsWith('K'));
    expect(Math.min(...interFrames.map((packet) => Number(packet.size)))).toBeGreaterThan(100);
  });

  it('makes a corrupt MP4 that starts like the real one and that ffprobe rejects', async () => {
    const corrupt = await sampleMedia('corrupt-mp4', small);
    const real = await sampleMedia('h264-aac-mp4', small);
    const [corruptBytes, realBytes] = await Promise.all([readFile(corrupt), readFile(real)]);
    expect(Math.abs(corruptBytes.length - realBytes.length)).toBeLessThan(1024);
    expect(corruptBytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(corruptBytes.subarray(0, 1024).includes('mdat', 0, 'latin1')).toBe(true);
    await expect(probeMedia(corrupt)).rejects.toMatchObject({
      code: 'NXS_UNSUPPORTED_MEDIA',
      message: expect.stringContaining('ffprobe could not read'),
    });
  });

  it('caches by kind and options, and shares one ffmpeg run between concurrent calls', async () => {
    const options = { durationS: 2, width: 160, height: 90, fps: 15 };
    const [first, second] = await Promise.all([
      sampleMedia('vp9-video-webm', options),
      sampleMedia('vp9-video-webm', options),
    ]);
    expect(second).toBe(first);
    const before = await stat(first);
    expect(await sampleMedia('vp9-video-webm', { ...options, height: 90 })).toBe(first);
    expect((await stat(first)).mtimeMs).toBe(before.mtimeMs);
    expect(await sampleMedia('vp9-video-webm', { ...options, fps: 10 })).not.toBe(first);
    expect(first).toMatch(/vp9-video-webm-[0-9a-f]{12}\.webm$/);
  });

  it('rejects options that cannot make a file', async () => {
    await expect(sampleMedia('aac-audio-m4a', { audio: 'none' })).rejects.toMatchObject({
      code: 'NXS_INVALID_INPUT',
    });
    await expect(sampleMedia('h264-aac-mp4', { width: 321 })).rejects.toMatchObject({
      code: 'NXS_INVALID_INPUT',
    });
    await expect(sampleMedia('h264-aac-mp4', { durationS: 0 })).rejects.toMatchObject({
      code: 'NXS_INVALID_INPUT',
    });
  });

  it('reports a file ffprobe cannot open as NXS_UNSUPPORTED_MEDIA', async () => {
    await expect(probeMedia(join(tmpdir(), 'nxs-does-not-exist.mp4'))).rejects.toMatchObject({
      code: 'NXS_UNSUPPORTED_MEDIA',
    });
  });
});

describe('sample cache', () => {
  let scratch: string;
  const saved = process.env.NEXSTREAM_TESTKIT_CACHE;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nxs-cache-'));
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.NEXSTREAM_TESTKIT_CACHE;
    else process.env.NEXSTREAM_TESTKIT_CACHE = saved;
    await rm(scratch, { recursive: true, force: true });
  });

  it('lives under node_modules/.cache of the workspace root unless NEXSTREAM_TESTKIT_CACHE says otherwise', async () => {
    delete process.env.NEXSTREAM_TESTKIT_CACHE;
    expect(sampleCacheDirectory()).toBe(
      join(workspaceRoot, 'node_modules', '.cache', 'nexstream-testkit', 'media'),
    );
    process.env.NEXSTREAM_TESTKIT_CACHE = scratch;
    const path = await sampleMedia('opus-audio-webm', { durationS: 1 });
    expect(dirname(path)).toBe(scratch);
    // Generated under a temporary name, then renamed: nothing else is left in the folder.
    expect(await readdir(scratch)).toEqual([path.slice(scratch.length + 1)]);
  });
});

describe('sampleDash', () => {
  it('makes a DASH presentation with separate video and audio adaptation sets', async () => {
    const directory = await sampleDash({ durationS: 4, width: 320, height: 180 });
    const manifest = await readFile(join(directory, 'manifest.mpd'), 'utf8');
    expect(manifest).toContain('contentType="video"');
    expect(manifest).toContain('contentType="audio"');
    expect(manifest).toMatch(/codecs="avc1\./);
    expect(manifest).toMatch(/codecs="mp4a\./);
    const files = await readdir(directory);
    expect(files).toEqual(
      expect.arrayContaining(['init-stream0.m4s', 'init-stream1.m4s', 'chunk-stream0-00001.m4s']),
    );
    expect(existsSync(`${directory}.tmp`)).toBe(false);
  });

  it('makes a VP9 + Opus WebM DASH presentation', async () => {
    const directory = await sampleDash({ durationS: 2, width: 320, height: 180, codecs: 'vp9-opus' });
    const manifest = await readFile(join(directory, 'manifest.mpd'), 'utf8');
    expect(manifest).toContain('codecs="vp09');
    expect(manifest).toContain('codecs="opus"');
    expect(manifest).toContain('mimeType="video/webm"');
  });
});
