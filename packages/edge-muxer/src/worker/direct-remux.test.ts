import { openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { locateProgram } from '@nexstream/core/node';
import { sampleMedia } from '@nexstream/testkit';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copiedPacketHashes } from '../../test/browser-harness.js';
import { type ByteSource, createBlobOpener, createByteSource, createStreamOpener } from '../byte-source.js';
import { type DirectInput, openDirectRemux } from './direct-remux.js';

// The direct MP4 writer only needs streams and Blobs, so it is tested in Node against real ffmpeg: every
// output must be what `ffmpeg -c copy` demuxes from the inputs themselves — the same packets with the
// same timestamps (framemd5 lines equal, time bases included) — for progressive, index-at-the-end,
// fragmented (DASH-style) and B-frame inputs. The Chromium tests run it through the Worker.
let ffmpeg: string;
let scratch: string;

beforeAll(async () => {
  ffmpeg = (await locateProgram('ffmpeg')).path;
  scratch = await mkdtemp(join(tmpdir(), 'nexstream-direct-'));
});

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

async function encode(name: string, args: string[]): Promise<string> {
  const path = join(scratch, name);
  await execa(ffmpeg, ['-v', 'error', '-y', ...args, path]);
  return path;
}

async function blobSource(path: string): Promise<ByteSource> {
  const source = createByteSource(createBlobOpener(await openAsBlob(path), path), {
    maxResumes: 0,
    resumeDelayMs: 0,
  });
  await source.start();
  return source;
}

/** Runs the direct writer over files; resolves with the output's path, or undefined when it declines. */
async function remuxFiles(files: { role: 'video' | 'audio'; path: string }[]): Promise<string | undefined> {
  const inputs: DirectInput[] = await Promise.all(
    files.map(async ({ role, path }) => ({
      role,
      label: `the ${role} input ${path}`,
      source: await blobSource(path),
      seekable: true,
    })),
  );
  try {
    const job = await openDirectRemux(inputs);
    if ('declined' in job) return undefined;
    const chunks: Uint8Array[] = [];
    const phases: string[] = [];
    await job.run({
      write: async (chunk) => {
        chunks.push(chunk);
      },
      onPhase: (phase) => phases.push(phase),
      isCancelled: () => false,
    });
    expect(phases).toEqual(['probing', 'muxing', 'finishing']);
    const output = join(scratch, `out-${Math.random().toString(36).slice(2)}.mp4`);
    await writeFile(output, Buffer.concat(chunks));
    return output;
  } finally {
    for (const input of inputs) input.source.close();
  }
}

/**
 * The timing of every packet of one stream as ffprobe reads it: `pts,dts,K|_` after a line with the
 * time base. Durations and the discard flag are left out: ffmpeg derives them from the edit list
 * differently for progressive and fragmented files (the primed first and trimmed last AAC packets).
 */
async function packetTimes(file: string, stream: string): Promise<string[]> {
  const { stdout } = await execa(join(ffmpeg, '../ffprobe'), [
    ...['-v', 'error', '-select_streams', stream, '-show_entries', 'stream=time_base:packet=pts,dts,flags'],
    ...['-of', 'csv=p=0', file],
  ]);
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) =>
      line.includes('/') ? line : line.split(',').slice(0, 2).join(',') + (line.includes(',K') ? ',K' : ',_'),
    );
}

/**
 * The output holds exactly the packets `ffmpeg -c copy` writes from the same inputs (per-stream payload
 * hashes equal), with the inputs' own timestamps, keyframe flags and time bases as ffprobe reads them
 * (edit lists included: AAC priming stays a -1024 start, which ffmpeg's fragmented writer drops).
 * Resolves with the output's codecs.
 */
async function expectSamePackets(output: string, inputs: string[], maps: string[]) {
  const native = await encode(`native-${Math.random().toString(36).slice(2)}.mp4`, [
    ...inputs.flatMap((input) => ['-i', input]),
    ...maps.flatMap((map) => ['-map', map]),
    ...['-c', 'copy', '-movflags', 'frag_keyframe+empty_moov+default_base_moof'],
  ]);
  const ownMaps = maps.map((_map, index) => `0:${index}`);
  const ours = await copiedPacketHashes([output], ownMaps);
  expect(ours.every((stream) => stream.length > 10)).toBe(true);
  expect(ours).toEqual(await copiedPacketHashes([native], ownMaps));
  for (const [index, map] of maps.entries()) {
    const [file, stream] = map.split(/:(.*)/) as [string, string];
    expect(await packetTimes(output, String(index))).toEqual(
      await packetTimes(inputs[Number(file)]!, stream),
    );
  }
  const { stdout } = await execa(join(ffmpeg, '../ffprobe'), [
    ...['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', output],
  ]);
  return stdout.trim().split('\n');
}

describe('openDirectRemux', () => {
  it('copies H.264 + AAC into a fragmented MP4 whose packets and timestamps are the inputs’ own', async () => {
    const video = await sampleMedia('h264-video-mp4', { durationS: 6 });
    const audio = await sampleMedia('aac-audio-m4a', { durationS: 6 });
    const output = await remuxFiles([
      { role: 'video', path: video },
      { role: 'audio', path: audio },
    ]);
    expect(output).toBeDefined();
    expect(await expectSamePackets(output!, [video, audio], ['0:v:0', '1:a:0'])).toEqual(['h264', 'aac']);
    // One fragment per 2 s GOP (frag_keyframe), plus one for the AAC that runs past the last frame.
    const bytes = await readFile(output!);
    expect(bytes.subarray(4, 8).toString()).toBe('ftyp');
    expect(bytes.includes(Buffer.from('mvex'))).toBe(true);
    expect(bytes.toString('latin1').split('moof').length - 1).toBe(4);
  });

  it('keeps B-frame composition offsets and edit lists (x264 with B-frames, AAC priming)', async () => {
    const video = await encode('bframes.mp4', [
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=4'],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-g', '50', '-pix_fmt', 'yuv420p'],
    ]);
    const audio = await sampleMedia('aac-audio-m4a', { durationS: 4 });
    const output = await remuxFiles([
      { role: 'video', path: video },
      { role: 'audio', path: audio },
    ]);
    expect(await expectSamePackets(output!, [video, audio], ['0:v:0', '1:a:0'])).toEqual(['h264', 'aac']);
  });

  it('reads an index at the end of the file (no faststart) and fragmented DASH-style inputs', async () => {
    const source = await sampleMedia('h264-aac-mp4', { durationS: 5 });
    const indexAtEnd = await encode('moov-at-end.mp4', ['-i', source, '-map', '0:v', '-c', 'copy']);
    const fragmented = await encode('fragmented.m4a', [
      ...['-i', source, '-map', '0:a', '-c', 'copy'],
      ...['-movflags', 'frag_keyframe+empty_moov+default_base_moof+global_sidx', '-frag_duration', '1000000'],
    ]);
    const output = await remuxFiles([
      { role: 'video', path: indexAtEnd },
      { role: 'audio', path: fragmented },
    ]);
    expect(await expectSamePackets(output!, [indexAtEnd, fragmented], ['0:v:0', '1:a:0'])).toEqual([
      'h264',
      'aac',
    ]);
  });

  it('takes one input alone, and the video track of a file that also has audio', async () => {
    const muxed = await sampleMedia('h264-aac-mp4', { durationS: 3 });
    const output = await remuxFiles([{ role: 'video', path: muxed }]);
    expect(await expectSamePackets(output!, [muxed], ['0:v:0'])).toEqual(['h264']);
    const audioOnly = await remuxFiles([{ role: 'audio', path: muxed }]);
    expect(await expectSamePackets(audioOnly!, [muxed], ['0:a:0'])).toEqual(['aac']);
  });

  it('leaves to libav.js what it does not handle, and refuses VP9 in MP4 with a clear error', async () => {
    // MP3 in MP4 is handled; a WebM is not an MP4 at all: declined, not failed.
    const webm = await sampleMedia('vp9-video-webm', { durationS: 2 });
    expect(await remuxFiles([{ role: 'video', path: webm }])).toBeUndefined();
    const vp9InMp4 = await encode('vp9.mp4', ['-i', webm, '-c', 'copy']);
    const refused = await remuxFiles([{ role: 'video', path: vp9InMp4 }]).catch((error: unknown) => error);
    expect(NexStreamError.is(refused) && refused.code).toBe(NexStreamErrorCode.UnsupportedMedia);
    expect((refused as Error).message).toMatch(/VP9 is never written to MP4/);
    // A stream input with its index at the end cannot seek there: declined (libav.js reports it).
    const indexAtEnd = await encode('stream-moov-at-end.mp4', [
      ...['-i', await sampleMedia('h264-video-mp4', { durationS: 2 }), '-c', 'copy'],
    ]);
    const bytes = await readFile(indexAtEnd);
    const streamSource = createByteSource(createStreamOpener(new Blob([bytes]).stream(), 'stream input'), {
      sizeBytes: bytes.length,
      maxResumes: 0,
      resumeDelayMs: 0,
    });
    await streamSource.start();
    expect(
      await openDirectRemux([{ role: 'video', label: 'video input', source: streamSource, seekable: false }]),
    ).toEqual({
      declined: 'the index comes after the media in a stream input',
    });
    streamSource.close();
  });

  it('fails a truncated input with a clear error instead of writing a short file as done', async () => {
    const path = await encode('truncated.mp4', [
      '-i',
      await sampleMedia('h264-video-mp4', { durationS: 4 }),
      ...['-c', 'copy', '-movflags', '+faststart'],
    ]);
    const { size } = await (await openAsBlob(path)).slice(0);
    await truncate(path, Math.floor(size * 0.6));
    const failure = await remuxFiles([{ role: 'video', path }]).catch((error: unknown) => error);
    expect(NexStreamError.is(failure) && failure.code).toBe(NexStreamErrorCode.UnsupportedMedia);
    expect((failure as Error).message).toMatch(
      /^the video input .*truncated\.mp4 ends at byte \d+, .*truncated or corrupt/,
    );
  });
});
