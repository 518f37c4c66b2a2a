import { readFixture } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import {
  expiryFromUrl,
  parseArtTrackDescription,
  parseYtDlpSearch,
  parseYtDlpVideo,
} from './youtube-format.js';

const fixture = (name: string) => readFixture(new URL(`../../__fixtures__/youtube/${name}`, import.meta.url));

describe('yt-dlp -J parsing (recorded YouTube shapes)', () => {
  it('maps a merged bv*+ba extraction: formats, the chosen pair, headers, sizes and expiry', async () => {
    const extracted = parseYtDlpVideo(await fixture('video-merged.json'), 'youtube')!;
    const { media } = extracted;
    expect(media).toMatchObject({
      id: 'youtube:VIDEOID',
      platform: 'youtube',
      pageUrl: 'https://www.youtube.com/watch?v=VIDEOID',
      channel: 'Daft Punk - Topic',
      durationMs: 225_000,
      preferred: { videoFormatId: '248', audioFormatId: '251' },
      expiresAt: 1_767_225_000_000,
    });
    expect(media.formats.map((format) => format.id)).toEqual(['251', '140', '137', '248']);
    const byId = Object.fromEntries(media.formats.map((format) => [format.id, format]));
    expect(byId['251']).toMatchObject({
      container: 'webm',
      audioCodec: 'opus',
      sampleRateHz: 48_000,
      audioChannels: 2,
      bitrateBps: 130_500,
      sizeBytes: 3_660_000,
      expiresAt: 1_767_225_600_000,
      protocol: 'https',
    });
    expect(byId['251']?.videoCodec).toBeUndefined();
    expect(byId['251']?.headers?.['User-Agent']).toMatch(/^Mozilla/);
    expect(byId['140']).toMatchObject({ sizeBytesEstimate: 3_640_000 });
    expect(byId['140']?.sizeBytes).toBeUndefined();
    expect(byId['137']).toMatchObject({ videoCodec: 'avc1.640028', width: 1920, height: 1080, fps: 25 });
    expect(byId['137']?.sizeBytesEstimate).toBe(Math.round((2_500_000 / 8) * 225));
    expect(byId['248']).toMatchObject({ videoCodec: 'vp9', sizeBytes: 42_100_000 });
  });

  it('recognizes an art track from the Topic channel and the parsed catalogue fields', async () => {
    const { candidate } = parseYtDlpVideo(await fixture('video-merged.json'), 'youtube')!;
    expect(candidate.artTrack).toEqual({
      title: 'Harder, Better, Faster, Stronger',
      artists: ['Daft Punk'],
      album: 'Discovery',
      releaseDate: '2001-03-07',
    });
    expect(candidate).toMatchObject({ viewCount: 123_456_789, durationMs: 225_000 });
  });

  it('reads the 2023 single-format form (no requested_formats, `artist` string)', async () => {
    const { media, candidate } = parseYtDlpVideo(await fixture('video-audio-only-2023.json'), 'youtube')!;
    expect(media.preferred).toEqual({ audioFormatId: '251' });
    expect(media.formats.map((format) => format.id)).toEqual(['251']);
    expect(candidate.artTrack?.artists).toEqual(['Daft Punk']);
  });

  it('does not call an official music video an art track', async () => {
    const { candidate, media } = parseYtDlpVideo(
      await fixture('video-official-no-catalogue.json'),
      'youtube',
    )!;
    expect(candidate.artTrack).toBeUndefined();
    expect(candidate.channelVerified).toBe(true);
    expect(media.preferred).toEqual({ videoFormatId: '137', audioFormatId: '140' });
  });

  it('maps flat search entries: channel, verified badge, views, live and shorts, Topic art tracks', async () => {
    const candidates = parseYtDlpSearch(await fixture('search-flat.json'), 'youtube');
    expect(candidates.map((candidate) => candidate.id)).toEqual([
      'gAjR4_CbPpQ',
      'yydNF8tuVmU',
      'K2cYWfq--Nw',
      'LIVE0000001',
      'SHORT000001',
    ]);
    expect(candidates[0]).toMatchObject({
      mediaId: 'youtube:gAjR4_CbPpQ',
      url: 'https://www.youtube.com/watch?v=gAjR4_CbPpQ',
      channel: 'Daft Punk',
      channelVerified: true,
      durationMs: 226_000,
      viewCount: 250_000_000,
      thumbnailUrl: 'https://i.ytimg.com/vi/gAjR4_CbPpQ/hq720.jpg',
    });
    expect(candidates[0]?.artTrack).toBeUndefined();
    expect(candidates[1]?.artTrack).toEqual({
      title: 'Harder, Better, Faster, Stronger',
      artists: ['Daft Punk'],
    });
    expect(candidates[3]).toMatchObject({ live: true });
    expect(candidates[3]?.durationMs).toBeUndefined();
    expect(candidates[4]?.url).toBe('https://www.youtube.com/shorts/SHORT000001');
  });

  it('marks every result of an ISRC search with that ISRC', async () => {
    const candidates = parseYtDlpSearch(await fixture('search-flat.json'), 'youtube', 'GBDUW0000059');
    expect(candidates.every((candidate) => candidate.foundByIsrc === 'GBDUW0000059')).toBe(true);
  });

  it('returns [] for an empty search', async () => {
    expect(parseYtDlpSearch(await fixture('search-empty.json'), 'youtube')).toEqual([]);
  });

  it('parses the catalogue block of an auto-generated description', () => {
    expect(
      parseArtTrackDescription(
        'Provided to YouTube by Columbia\n\nGet Lucky · Daft Punk · Pharrell Williams · Nile Rodgers\n\nRandom Access Memories\n\n℗ 2013 Daft Life\n\nReleased on: 2013-05-17\n\nAuto-generated by YouTube.',
      ),
    ).toEqual({
      title: 'Get Lucky',
      artists: ['Daft Punk', 'Pharrell Williams', 'Nile Rodgers'],
      album: 'Random Access Memories',
      releaseDate: '2013-05-17',
    });
    expect(parseArtTrackDescription('Official video for …')).toBeUndefined();
  });

  it('reads expire= as epoch milliseconds', () => {
    expect(expiryFromUrl('https://x.googlevideo.com/videoplayback?expire=1767225600&itag=251')).toBe(
      1_767_225_600_000,
    );
    expect(expiryFromUrl('https://example.com/file.mp4')).toBeUndefined();
  });
});
