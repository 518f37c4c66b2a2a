import { readFile } from 'node:fs/promises';
import { NexStreamError } from '@nexstream/core';
import { sampleMedia } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import { assertCodecFits, chooseLibavVariant, sniffInputFamily } from './container.js';

describe('sniffInputFamily', () => {
  it('tells MP4/M4A from WebM by the first bytes of real ffmpeg files', async () => {
    const head = async (kind: Parameters<typeof sampleMedia>[0]) =>
      new Uint8Array((await readFile(await sampleMedia(kind))).subarray(0, 16));
    expect(sniffInputFamily(await head('h264-video-mp4'))).toBe('mp4');
    expect(sniffInputFamily(await head('aac-audio-m4a'))).toBe('mp4');
    expect(sniffInputFamily(await head('vp9-video-webm'))).toBe('matroska');
    expect(sniffInputFamily(await head('opus-audio-webm'))).toBe('matroska');
    expect(sniffInputFamily(new TextEncoder().encode('<!doctype html><html>'))).toBe('unknown');
  });
});

describe('chooseLibavVariant', () => {
  it('uses the webm variant for WebM in and WebM/MKV out, webcodecs as soon as MP4 is involved', () => {
    expect(chooseLibavVariant(['matroska', 'matroska'], 'webm')).toBe('webm');
    expect(chooseLibavVariant(['matroska', 'matroska'], 'mkv')).toBe('webm');
    expect(chooseLibavVariant(['matroska', 'matroska'], 'mp4')).toBe('webcodecs');
    expect(chooseLibavVariant(['mp4', 'matroska'], 'mkv')).toBe('webcodecs');
    expect(chooseLibavVariant(['mp4', 'mp4'], 'mp4')).toBe('webcodecs');
  });

  it('refuses an input that is neither MP4 nor Matroska with NXS_UNSUPPORTED_MEDIA', () => {
    expect(() => chooseLibavVariant(['mp4', 'unknown'], 'mp4')).toThrowError(/input 2 is neither/);
    try {
      chooseLibavVariant(['unknown'], 'mkv');
    } catch (error) {
      expect(NexStreamError.is(error) && error.code).toBe('NXS_UNSUPPORTED_MEDIA');
    }
  });
});

describe('assertCodecFits', () => {
  it('never lets VP9 into MP4, and keeps WebM to its own codecs', () => {
    expect(() => assertCodecFits('vp9', 'mp4')).toThrowError(/VP9 is never written to MP4/);
    expect(() => assertCodecFits('h264', 'webm')).toThrowError(/cannot be stream-copied into webm/);
    expect(() => assertCodecFits('h264', 'mp4')).not.toThrow();
    expect(() => assertCodecFits('vp9', 'webm')).not.toThrow();
    expect(() => assertCodecFits('vp9', 'mkv')).not.toThrow();
    expect(() => assertCodecFits('opus', 'mp4')).not.toThrow();
  });
});
