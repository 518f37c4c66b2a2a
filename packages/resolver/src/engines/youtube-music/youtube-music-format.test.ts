import { describe, expect, it } from 'vitest';
import {
  type MusicSearchEntry,
  mapMusicSearch,
  musicCount,
  musicCredits,
  musicDurationMs,
  musicResultType,
} from './youtube-music-format.js';

// Pure mapping rules on hand-built runs. The replayed InnerTube bodies are exercised in
// youtube-music-engine.test.ts; these runs only spell out cases the recorded bodies lack (several credits).
describe('youtube music format', () => {
  it('reads every credit of the linked-artists segment, linked or not, and skips the joiners and the album', () => {
    const runs = [
      { text: 'Song' },
      { text: ' • ' },
      { text: 'Daft Punk', browseId: 'UC_daftpunk_channel_id0', pageType: 'MUSIC_PAGE_TYPE_ARTIST' },
      { text: ', ' },
      { text: 'Pharrell Williams' },
      { text: ' & ' },
      { text: 'Nile Rodgers', browseId: 'UC_nilerodgers_channel0', pageType: 'MUSIC_PAGE_TYPE_ARTIST' },
      { text: ' • ' },
      { text: 'Random Access Memories', browseId: 'MPREb_album', pageType: 'MUSIC_PAGE_TYPE_ALBUM' },
      { text: ' • ' },
      { text: '6:09' },
    ];
    expect(musicCredits(runs)).toEqual([
      { name: 'Daft Punk', channelId: 'UC_daftpunk_channel_id0' },
      { name: 'Pharrell Williams' },
      { name: 'Nile Rodgers', channelId: 'UC_nilerodgers_channel0' },
    ]);
  });

  it('falls back to the first plain segment when no credit is linked', () => {
    expect(musicCredits([{ text: 'Unknown Artist' }, { text: ' • ' }, { text: '3:00' }])).toEqual([
      { name: 'Unknown Artist' },
    ]);
  });

  it('reads durations, abbreviated counts and InnerTube video types', () => {
    expect(musicDurationMs('3:32')).toBe(212_000);
    expect(musicDurationMs('1:02:03')).toBe(3_723_000);
    expect(musicDurationMs('2024')).toBeUndefined();
    expect(musicCount('3.6M plays')).toEqual({ count: 3_600_000, kind: 'plays' });
    expect(musicCount('387K views')).toEqual({ count: 387_000, kind: 'views' });
    expect(musicCount('1,204 views')).toEqual({ count: 1_204, kind: 'views' });
    expect(musicCount('1 view')).toEqual({ count: 1, kind: 'views' });
    expect(musicCount('2.1M monthly audience')).toBeUndefined();
    expect(musicResultType('MUSIC_VIDEO_TYPE_ATV')).toBe('art-track');
    expect(musicResultType('MUSIC_VIDEO_TYPE_OMV')).toBe('official-video');
    expect(musicResultType('MUSIC_VIDEO_TYPE_UGC')).toBe('user-upload');
    expect(musicResultType('MUSIC_VIDEO_TYPE_PODCAST_EPISODE')).toBe('episode');
    expect(musicResultType(undefined)).toBeUndefined();
  });

  it('ranks playable results only, drops repeats and untyped entries, and stops at the limit', () => {
    const entry = (videoId: string, musicVideoType?: string): MusicSearchEntry => ({
      videoId,
      title: `title ${videoId}`,
      ...(musicVideoType ? { musicVideoType } : {}),
      detailRuns: [],
      extraRuns: [],
      badges: [],
      thumbnails: [],
      topResult: false,
    });
    const mapped = mapMusicSearch(
      [
        entry('aaaaaaaaaaa', 'MUSIC_VIDEO_TYPE_ATV'),
        entry('bbbbbbbbbbb'),
        entry('aaaaaaaaaaa', 'MUSIC_VIDEO_TYPE_ATV'),
        entry('ccccccccccc', 'MUSIC_VIDEO_TYPE_PODCAST_EPISODE'),
        entry('ddddddddddd', 'MUSIC_VIDEO_TYPE_OMV'),
      ],
      { engine: 'youtube-music', limit: 2 },
    );
    expect(mapped.map((candidate) => [candidate.id, candidate.rank, candidate.resultType])).toEqual([
      ['aaaaaaaaaaa', 1, 'art-track'],
      ['ccccccccccc', 2, 'episode'],
    ]);
  });
});
