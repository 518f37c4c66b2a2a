import { describe, expect, it } from 'vitest';
import {
  audioCodecFamily,
  containerCodecs,
  type DeliveryClient,
  type DeliveryReason,
  type DeliveryRoute,
  type PlanDeliveryOptions,
  planDelivery,
  videoCodecFamily,
} from './delivery-plan.js';
import { NexStreamError } from './errors.js';
import type { MediaFormat, ResolvedMedia } from './types.js';

const MB = 1_000_000;

// Shapes follow yt-dlp's YouTube formats: 137/248 video-only, 140/251 audio-only, 18 progressive.
const h264: MediaFormat = {
  id: '137',
  container: 'mp4',
  videoCodec: 'avc1.640028',
  height: 1080,
  sizeBytes: 150 * MB,
  url: 'https://rr1.googlevideo.com/137',
};
const vp9: MediaFormat = {
  id: '248',
  container: 'webm',
  videoCodec: 'vp9',
  height: 1080,
  sizeBytesEstimate: 120 * MB,
  url: 'https://rr1.googlevideo.com/248',
};
const av1: MediaFormat = {
  id: '399',
  container: 'mp4',
  videoCodec: 'av01.0.08M.08',
  height: 1080,
  sizeBytes: 90 * MB,
  url: 'https://rr1.googlevideo.com/399',
};
const aac: MediaFormat = {
  id: '140',
  container: 'm4a',
  audioCodec: 'mp4a.40.2',
  bitrateBps: 129_000,
  sizeBytes: 5 * MB,
  url: 'https://rr1.googlevideo.com/140',
};
const opus: MediaFormat = {
  id: '251',
  container: 'webm',
  audioCodec: 'opus',
  bitrateBps: 135_000,
  url: 'https://rr1.googlevideo.com/251',
};
const progressive: MediaFormat = {
  id: '18',
  container: 'mp4',
  videoCodec: 'avc1.42001E',
  audioCodec: 'mp4a.40.2',
  height: 360,
  sizeBytes: 20 * MB,
  url: 'https://rr1.googlevideo.com/18',
};
const hugeH264: MediaFormat = { ...h264, id: '299', sizeBytes: 450 * MB };
const unsized: MediaFormat = {
  id: '303',
  container: 'webm',
  videoCodec: 'vp9',
  height: 1080,
  url: 'https://rr1.googlevideo.com/303',
};

const media: ResolvedMedia = {
  id: 'youtube:dQw4w9WgXcQ',
  platform: 'youtube',
  pageUrl: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ',
  title: 'Never Gonna Give You Up',
  durationMs: 213_000,
  formats: [h264, vp9, av1, aac, opus, progressive, hugeH264, unsized],
};

const capable: DeliveryClient = { worker: true, saveTarget: 'service-worker' };
const noWorker: DeliveryClient = { worker: false, saveTarget: 'service-worker' };
const noSave: DeliveryClient = { worker: true, saveTarget: 'none' };

const rows: Array<{
  name: string;
  client: DeliveryClient;
  options: PlanDeliveryOptions;
  route: DeliveryRoute;
  reason: DeliveryReason;
  container: string;
  estimatedBytes?: number;
}> = [
  {
    name: 'H.264 + AAC under the threshold → edge fMP4',
    client: capable,
    options: { videoFormatId: '137', audioFormatId: '140' },
    route: 'edge',
    reason: 'edge-capable',
    container: 'mp4',
    estimatedBytes: 155 * MB,
  },
  {
    name: 'VP9 + Opus → edge WebM (Opus size from bitrate × duration)',
    client: capable,
    options: { videoFormatId: '248', audioFormatId: '251' },
    route: 'edge',
    reason: 'edge-capable',
    container: 'webm',
    estimatedBytes: 120 * MB + Math.round((135_000 / 8) * 213),
  },
  {
    name: 'VP9 never into MP4 at the edge → server',
    client: capable,
    options: { videoFormatId: '248', audioFormatId: '140', container: 'mp4' },
    route: 'server',
    reason: 'unsupported-pair',
    container: 'mp4',
  },
  {
    name: 'VP9 + AAC into MKV → edge',
    client: capable,
    options: { videoFormatId: '248', audioFormatId: '140', container: 'mkv' },
    route: 'edge',
    reason: 'edge-capable',
    container: 'mkv',
  },
  {
    name: 'AV1 is not an edge pair → server MKV',
    client: capable,
    options: { videoFormatId: '399', audioFormatId: '251' },
    route: 'server',
    reason: 'unsupported-pair',
    container: 'mkv',
  },
  {
    name: 'over 400 MB → server',
    client: capable,
    options: { videoFormatId: '299', audioFormatId: '140' },
    route: 'server',
    reason: 'over-threshold',
    container: 'mp4',
    estimatedBytes: 455 * MB,
  },
  {
    name: 'a lower threshold sends a 155 MB job to the server',
    client: capable,
    options: { videoFormatId: '137', audioFormatId: '140', edgeThresholdBytes: 100 * MB },
    route: 'server',
    reason: 'over-threshold',
    container: 'mp4',
  },
  {
    name: 'exactly at the threshold → server',
    client: capable,
    options: { videoFormatId: '137', audioFormatId: '140', edgeThresholdBytes: 155 * MB },
    route: 'server',
    reason: 'over-threshold',
    container: 'mp4',
  },
  {
    name: 'no Worker → server',
    client: noWorker,
    options: { videoFormatId: '137', audioFormatId: '140' },
    route: 'server',
    reason: 'client-cannot-mux',
    container: 'mp4',
  },
  {
    name: 'no save path → server',
    client: noSave,
    options: { videoFormatId: '137', audioFormatId: '140' },
    route: 'server',
    reason: 'no-save-path',
    container: 'mp4',
  },
  {
    name: 'unknown size → server',
    client: capable,
    options: { videoFormatId: '303', audioFormatId: '251' },
    route: 'server',
    reason: 'size-unknown',
    container: 'webm',
  },
  {
    name: 'a progressive format asked for → direct',
    client: capable,
    options: { videoFormatId: '18' },
    route: 'direct',
    reason: 'progressive-format',
    container: 'mp4',
    estimatedBytes: 20 * MB,
  },
  {
    name: 'a progressive format direct even for a client that cannot mux',
    client: noWorker,
    options: { videoFormatId: '18' },
    route: 'direct',
    reason: 'progressive-format',
    container: 'mp4',
  },
  {
    name: 'a progressive format in another container → muxed (MKV at the edge)',
    client: capable,
    options: { videoFormatId: '18', audioFormatId: '140', container: 'mkv' },
    route: 'edge',
    reason: 'edge-capable',
    container: 'mkv',
  },
  {
    name: 'audio only, M4A from AAC → direct',
    client: capable,
    options: { audioOnly: true, audioFormatId: '140' },
    route: 'direct',
    reason: 'single-format',
    container: 'm4a',
    estimatedBytes: 5 * MB,
  },
  {
    name: 'audio only, WebM Opus as is → direct',
    client: noWorker,
    options: { container: 'webm', audioOnly: true, audioFormatId: '251' },
    route: 'direct',
    reason: 'single-format',
    container: 'webm',
  },
  {
    name: 'audio only, Ogg Opus by copy → edge',
    client: capable,
    options: { container: 'opus', audioFormatId: '251' },
    route: 'edge',
    reason: 'edge-capable',
    container: 'opus',
  },
  {
    name: 'audio only, MP3 → server transcode',
    client: capable,
    options: { container: 'mp3' },
    route: 'server',
    reason: 'transcode-needed',
    container: 'mp3',
  },
  {
    name: 'audio only defaults to the best audio format, as is',
    client: capable,
    options: { audioOnly: true },
    route: 'direct',
    reason: 'single-format',
    container: 'webm',
  },
];

describe('planDelivery', () => {
  for (const row of rows) {
    it(row.name, () => {
      const plan = planDelivery(media, row.client, row.options);
      expect({ route: plan.route, reason: plan.reason, container: plan.container }).toEqual({
        route: row.route,
        reason: row.reason,
        container: row.container,
      });
      if (row.estimatedBytes !== undefined) expect(plan.estimatedBytes).toBe(row.estimatedBytes);
      expect(plan.message.length).toBeGreaterThan(10);
    });
  }

  it('uses the preferred pair (yt-dlp requested_formats) when none is named', () => {
    const plan = planDelivery(
      { ...media, preferred: { videoFormatId: '248', audioFormatId: '251' } },
      capable,
    );
    expect([plan.video?.id, plan.audio?.id, plan.route, plan.container]).toEqual([
      '248',
      '251',
      'edge',
      'webm',
    ]);
  });

  it('picks the tallest video-only format and the highest-bitrate audio without a preference', () => {
    const plan = planDelivery({ ...media, formats: [progressive, vp9, aac, opus] }, capable);
    expect([plan.video?.id, plan.audio?.id]).toEqual(['248', '251']);
  });

  describe('audio only from media that has only progressive formats', () => {
    // yt-dlp's shape for an old or small upload: 18 (360p) and 22 (720p, better AAC) carry video and audio.
    const hd: MediaFormat = {
      id: '22',
      container: 'mp4',
      videoCodec: 'avc1.64001F',
      audioCodec: 'mp4a.40.2',
      height: 720,
      bitrateBps: 1_500_000,
      url: 'https://rr1.googlevideo.com/22',
    };
    const progressiveOnly: ResolvedMedia = { ...media, formats: [progressive, hd] };

    it('plans the server route, where ffmpeg extracts the audio of the best progressive format', () => {
      const plan = planDelivery(progressiveOnly, capable, { audioOnly: true });
      expect(plan).toMatchObject({
        route: 'server',
        reason: 'audio-from-progressive',
        container: 'm4a',
        audio: { id: '22' },
        estimatedBytes: Math.round((1_500_000 / 8) * 213),
      });
      expect(plan.video).toBeUndefined();
      expect(plan.message).toMatch(
        /no audio-only format: the server extracts the mp4a\.40\.2 audio of progressive format 22 into m4a/,
      );
    });

    it('says it transcodes for MP3, and also routes a progressive format named as the audio', () => {
      const mp3 = planDelivery(progressiveOnly, noWorker, { container: 'mp3' });
      expect([mp3.route, mp3.reason, mp3.container, mp3.audio?.id]).toEqual([
        'server',
        'audio-from-progressive',
        'mp3',
        '22',
      ]);
      expect(mp3.message).toMatch(/transcodes it to MP3/);
      const named = planDelivery(media, capable, { audioOnly: true, audioFormatId: '18' });
      expect([named.route, named.reason, named.audio?.id]).toEqual([
        'server',
        'audio-from-progressive',
        '18',
      ]);
    });

    it('still finds nothing when no format has audio', () => {
      const error = (() => {
        try {
          planDelivery({ ...media, formats: [h264, vp9] }, capable, { audioOnly: true });
        } catch (thrown) {
          return thrown;
        }
        return undefined;
      })();
      expect(NexStreamError.is(error) && error.code).toBe('NXS_NOT_FOUND');
    });
  });

  it('throws for containers that cannot hold the codecs, and for unknown format ids', () => {
    const codeOf = (options: PlanDeliveryOptions): string | undefined => {
      try {
        planDelivery(media, capable, options);
      } catch (error) {
        return NexStreamError.is(error) ? error.code : 'other';
      }
      return undefined;
    };
    expect(codeOf({ videoFormatId: '137', audioFormatId: '140', container: 'webm' })).toBe(
      'NXS_INVALID_INPUT',
    );
    expect(codeOf({ videoFormatId: '137', container: 'm4a', audioOnly: false })).toBe('NXS_INVALID_INPUT');
    expect(codeOf({ container: 'm4a', audioFormatId: '251' })).toBe('NXS_INVALID_INPUT');
    expect(codeOf({ videoFormatId: 'nope' })).toBe('NXS_NOT_FOUND');
  });
});

describe('codec families and what containers hold (shared with pages that offer file types)', () => {
  it('names codecs by their RFC 6381 and yt-dlp names, and agrees with planDelivery on WebM', () => {
    expect(
      ['avc1.64001e', 'vp09.00.40.08', 'vp8', 'av01.0.08M.08', 'hvc1.1.6.L93', 'theora'].map(
        videoCodecFamily,
      ),
    ).toEqual(['h264', 'vp9', 'vp8', 'av1', 'hevc', 'other']);
    expect(['mp4a.40.2', 'mp4a.40.34', 'opus', 'vorbis', 'flac', undefined].map(audioCodecFamily)).toEqual([
      'aac',
      'mp3',
      'opus',
      'vorbis',
      'other',
      'other',
    ]);
    expect(containerCodecs.webm).toEqual({ video: ['vp9', 'vp8', 'av1'], audio: ['opus', 'vorbis'] });
    expect(containerCodecs.m4a.audio).toEqual(['aac']);
  });
});
