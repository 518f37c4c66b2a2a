import type { TrackMetadata } from '@nexstream/core';
import { describe, expect, it } from 'vitest';
import { evaluate, loadEvalGroups } from '../eval/evaluate.js';
import type { VideoCandidate } from './engine.js';
import { mapMusicSearch } from './engines/youtube-music/youtube-music-format.js';
import {
  defaultMatchThresholds,
  durationCloseness,
  durationRejectLimitMs,
  type MatchCandidate,
  meetsGrade,
  rankCandidates,
  scoreCandidate,
  strongDurationGapMs,
  type VersionTag,
} from './match-scorer.js';

const hello: TrackMetadata = {
  title: 'Hello',
  artists: ['Adele'],
  album: '25',
  durationMs: 295_000,
  isrc: 'GBBKS1500214',
  explicit: false,
  ids: {},
};

function video(title: string, overrides: Partial<MatchCandidate> = {}): MatchCandidate {
  return { id: 'AAAAAAAAAAA', title, channel: 'Adele', durationMs: 295_000, ...overrides };
}

describe('scoreCandidate: normalization', () => {
  it('strips bracket noise, "Artist - Title" and VEVO before comparing', () => {
    for (const title of [
      'Adele - Hello (Official Music Video)',
      'Adele - Hello [HD]',
      'ADELE – HELLO | Official Audio',
      'Hello - Adele (Lyrics)',
      'Adele "Hello" Official Video 4K',
    ]) {
      const result = scoreCandidate(hello, video(title, { channel: 'AdeleVEVO' }));
      expect(result.parts.title, title).toBe(1);
      expect(result.parts.artist, title).toBe(1);
      expect(result.channelKind, title).toBe('artist');
    }
  });

  it('reads the artist from a " - Topic" channel and treats it as an art track', () => {
    const result = scoreCandidate(hello, video('Hello', { channel: 'Adele - Topic' }));
    expect(result.channelKind).toBe('art-track');
    expect(result.parts.artist).toBe(1);
    expect(result.grade).toBe('exact');
  });

  it('moves feat. credits out of the title and checks them against the track', () => {
    const track: TrackMetadata = {
      title: 'Wild Thoughts',
      artists: ['DJ Khaled', 'Rihanna', 'Bryson Tiller'],
      durationMs: 204_000,
      ids: {},
    };
    const credited = scoreCandidate(
      track,
      video('DJ Khaled - Wild Thoughts ft. Rihanna, Bryson Tiller', {
        channel: 'DJKhaledVEVO',
        durationMs: 204_000,
      }),
    );
    expect(credited.parts.title).toBe(1);
    expect(credited.parts['penalty:extra-guest']).toBeUndefined();
    const otherGuest = scoreCandidate(
      track,
      video('DJ Khaled - Wild Thoughts (feat. Justin Bieber)', {
        channel: 'DJKhaledVEVO',
        durationMs: 204_000,
      }),
    );
    expect(otherGuest.parts['penalty:extra-guest']).toBeLessThan(0);
  });

  it('compares the catalogue title of an art track rather than the video title', () => {
    const result = scoreCandidate(hello, {
      id: 'BBBBBBBBBBB',
      title: 'Hello',
      channel: 'Adele - Topic',
      durationMs: 296_000,
      artTrack: { title: 'Hello', artists: ['Adele'], album: '25' },
    });
    expect(result.parts.album).toBe(1);
    expect(result.grade).toBe('verified');
  });
});

describe('scoreCandidate: version penalties', () => {
  const examples: Array<[VersionTag, string]> = [
    ['live', 'Adele - Hello (Live at the NRJ Awards)'],
    ['live', 'Adele - Hello (En Vivo)'],
    ['cover', 'Hello - Adele (Cover by J.Fla)'],
    ['cover', 'Hello / Adele 歌ってみた'],
    ['karaoke', 'Adele - Hello (Karaoke Version)'],
    ['instrumental', 'Adele - Hello (Instrumental)'],
    ['acapella', 'Adele - Hello (Acapella)'],
    ['acapella', 'Adele - Hello (A Cappella)'],
    ['remix', 'Adele - Hello (Tiësto Remix)'],
    ['sped-up', 'Adele - Hello (sped up)'],
    ['slowed', 'adele - hello (slowed + reverb)'],
    ['reverb', 'adele - hello (slowed + reverb)'],
    ['nightcore', 'Nightcore - Hello'],
    ['8d', 'Adele - Hello (8D Audio)'],
    ['bass-boosted', 'Adele - Hello [Bass Boosted]'],
    ['extended', 'Adele - Hello (Extended Version)'],
    ['loop', 'Adele - Hello (1 Hour Loop)'],
    ['loop', 'Adele - Hello 10 Hours'],
    ['acoustic', 'Adele - Hello (Acoustic)'],
    ['demo', 'Adele - Hello (Demo)'],
    ['not-the-song', 'Adele - Hello REACTION'],
    ['alternate', 'Adele - Hello (2019 Mix)'],
    ['alternate', "Adele - Hello (Adele's Version)"],
  ];
  for (const [tag, title] of examples) {
    it(`penalizes "${tag}" in "${title}" and keeps it below strong`, () => {
      const result = scoreCandidate(hello, video(title));
      expect(result.parts[`penalty:${tag}`]).toBeLessThan(0);
      expect(meetsGrade(result.grade, 'strong')).toBe(false);
    });
  }

  it('does not penalize a version word the track has (Live Forever)', () => {
    const track: TrackMetadata = { title: 'Live Forever', artists: ['Oasis'], durationMs: 276_000, ids: {} };
    const result = scoreCandidate(
      track,
      video('Oasis - Live Forever (Official Video)', { channel: 'Oasis', durationMs: 277_000 }),
    );
    expect(result.parts['penalty:live']).toBeUndefined();
    expect(meetsGrade(result.grade, 'strong')).toBe(true);
  });

  it('accepts the live version a live track asks for, and penalizes the studio one and another concert', () => {
    const track: TrackMetadata = {
      title: 'Hotel California - Live On MTV, 1994',
      artists: ['Eagles'],
      durationMs: 432_000,
      ids: {},
    };
    const same = scoreCandidate(
      track,
      video('Eagles - Hotel California (Live 1994)', { channel: 'Eagles', durationMs: 431_000 }),
    );
    const studio = scoreCandidate(
      track,
      video('Eagles - Hotel California', { channel: 'Eagles', durationMs: 431_000 }),
    );
    const other = scoreCandidate(
      track,
      video('Eagles - Hotel California (Live 1977)', { channel: 'Eagles', durationMs: 431_000 }),
    );
    expect(same.grade).not.toBe('rejected');
    expect(studio.parts['penalty:missing-live']).toBeLessThan(0);
    expect(other.parts['penalty:live']).toBeLessThan(0);
  });

  it('penalizes a remaster only when its year conflicts with the track', () => {
    const track: TrackMetadata = {
      title: 'Bohemian Rhapsody - Remastered 2011',
      artists: ['Queen'],
      durationMs: 355_000,
      ids: {},
    };
    const same = scoreCandidate(
      track,
      video('Bohemian Rhapsody (Remastered 2011)', { channel: 'Queen - Topic', durationMs: 355_000 }),
    );
    const other = scoreCandidate(
      track,
      video('Bohemian Rhapsody (2021 Remaster)', { channel: 'Queen - Topic', durationMs: 355_000 }),
    );
    const plain: TrackMetadata = { ...track, title: 'Bohemian Rhapsody' };
    expect(same.parts['penalty:remaster-conflict']).toBeUndefined();
    expect(other.parts['penalty:remaster-conflict']).toBeLessThan(0);
    expect(
      scoreCandidate(
        plain,
        video('Bohemian Rhapsody (Remastered 2011)', { channel: 'Queen - Topic', durationMs: 355_000 }),
      ).grade,
    ).toBe('exact');
  });

  it('penalizes clean/explicit mismatches only when the track says which it is', () => {
    const explicit: TrackMetadata = {
      title: 'HUMBLE.',
      artists: ['Kendrick Lamar'],
      durationMs: 177_000,
      explicit: true,
      ids: {},
    };
    const clean = video('Kendrick Lamar - HUMBLE. (Clean)', { channel: 'Rap Uploads', durationMs: 177_000 });
    expect(scoreCandidate(explicit, clean).parts['penalty:explicit-mismatch']).toBeLessThan(0);
    expect(
      scoreCandidate({ ...explicit, explicit: false }, clean).parts['penalty:explicit-mismatch'],
    ).toBeUndefined();
    expect(
      scoreCandidate({ ...explicit, explicit: undefined }, clean).parts['penalty:explicit-mismatch'],
    ).toBeUndefined();
    const dirty = video('Kendrick Lamar - HUMBLE. (Explicit)', {
      channel: 'Rap Uploads',
      durationMs: 177_000,
    });
    expect(
      scoreCandidate({ ...explicit, explicit: false }, dirty).parts['penalty:explicit-mismatch'],
    ).toBeLessThan(0);
  });

  it('penalizes a music video more than 5 s off the track (intro)', () => {
    const result = scoreCandidate(
      hello,
      video('Adele - Hello (Official Music Video)', { durationMs: 302_000 }),
    );
    expect(result.parts['penalty:music-video-gap']).toBeLessThan(0);
    expect(meetsGrade(result.grade, 'strong')).toBe(false);
  });
});

describe('scoreCandidate: hard rejects', () => {
  it('sets the duration limit at 7 % of the track, between 8 s and 60 s', () => {
    expect(durationRejectLimitMs(60_000)).toBe(8000);
    expect(durationRejectLimitMs(300_000)).toBe(21_000);
    expect(durationRejectLimitMs(3_600_000)).toBe(60_000);
  });

  it('rejects a candidate just past the limit and keeps one just inside', () => {
    const track: TrackMetadata = { ...hello, durationMs: 300_000 };
    const inside = scoreCandidate(track, video('Adele - Hello', { durationMs: 321_000 }));
    const outside = scoreCandidate(track, video('Adele - Hello', { durationMs: 322_000 }));
    expect(inside.reasons.join(' ')).not.toMatch(/duration differs/);
    expect(outside.grade).toBe('rejected');
    expect(outside.reasons[0]).toBe('rejected: duration differs by 22.0 s (limit 21.0 s)');
  });

  it('rejects 1-hour loops, live streams, other songs and other artists', () => {
    expect(scoreCandidate(hello, video('Adele - Hello', { durationMs: 3_600_000 })).grade).toBe('rejected');
    expect(scoreCandidate(hello, video('Adele - Hello', { live: true })).grade).toBe('rejected');
    expect(scoreCandidate(hello, video('Adele - Someone Like You')).grade).toBe('rejected');
    expect(scoreCandidate(hello, video('Lionel Richie - Hello', { channel: 'LionelRichieVEVO' })).grade).toBe(
      'rejected',
    );
  });

  it('scores duration closeness as 1 within 2 s, then decays', () => {
    expect(durationCloseness(200_000, 202_000)).toBe(1);
    expect(durationCloseness(200_000, 205_000)).toBeCloseTo(0.687, 3);
    expect(durationCloseness(undefined, 205_000)).toBe(0.5);
  });
});

describe('scoreCandidate: non-Latin titles', () => {
  const cases: Array<[string, TrackMetadata, MatchCandidate]> = [
    [
      'Japanese',
      { title: '紅蓮華', artists: ['LiSA'], durationMs: 238_000, ids: {} },
      video('LiSA 『紅蓮華』 -MUSiC CLiP-', { channel: 'LiSA Official YouTube', durationMs: 239_000 }),
    ],
    [
      'Korean',
      { title: '밤편지', artists: ['아이유'], durationMs: 253_000, ids: {} },
      video('아이유 - 밤편지 (가사)', { channel: 'K-Ballad', durationMs: 253_000 }),
    ],
    [
      'Cyrillic',
      { title: 'Группа крови', artists: ['Кино'], durationMs: 285_000, ids: {} },
      video('Кино - Группа крови (Official Video)', { channel: 'Кино', durationMs: 285_000 }),
    ],
    [
      'Arabic',
      { title: 'تملي معاك', artists: ['عمرو دياب'], durationMs: 293_000, ids: {} },
      video('عمرو دياب - تملي معاك', { channel: 'Rotana Music', channelVerified: true, durationMs: 294_000 }),
    ],
    [
      'Hindi',
      { title: 'तुम ही हो', artists: ['Arijit Singh'], durationMs: 262_000, ids: {} },
      video('तुम ही हो', { channel: 'Arijit Singh - Topic', durationMs: 262_000 }),
    ],
    [
      'Chinese with a translation beside it',
      { title: '告白氣球', artists: ['周杰倫'], durationMs: 215_000, ids: {} },
      video('周杰倫 Jay Chou【告白氣球 Love Confession】Official MV', {
        channel: '周杰倫 Jay Chou',
        channelVerified: true,
        durationMs: 216_000,
      }),
    ],
  ];
  for (const [script, track, candidate] of cases) {
    it(`matches a ${script} title in its own script`, () => {
      const result = scoreCandidate(track, candidate);
      expect(result.parts.title).toBe(1);
      expect(meetsGrade(result.grade, 'strong')).toBe(true);
    });
  }

  it('caps an artist written in another script at fuzzy instead of rejecting it', () => {
    const track: TrackMetadata = { title: 'Lemon', artists: ['Kenshi Yonezu'], durationMs: 255_000, ids: {} };
    const result = scoreCandidate(
      track,
      video('Lemon', { channel: '米津玄師 - Topic', durationMs: 256_000 }),
    );
    expect(result.grade).toBe('fuzzy');
    expect(result.reasons.join(' ')).toMatch(/artist unknown \(another script\)/);
  });
});

describe('grades', () => {
  it('verifies a video found by the track ISRC within 2 s', () => {
    const found = video('Adele - Hello', {
      channel: 'Some Uploader',
      durationMs: 296_000,
      foundByIsrc: 'GB-BKS-15-00214',
    });
    expect(scoreCandidate(hello, found).grade).toBe('verified');
    expect(scoreCandidate(hello, { ...found, foundByIsrc: true }).grade).toBe('verified');
  });

  it('does not verify an ISRC hit of another ISRC, another song, or 3 s off', () => {
    const found = video('Adele - Hello', {
      channel: 'Some Uploader',
      durationMs: 296_000,
      foundByIsrc: 'GBBKS1500214',
    });
    expect(scoreCandidate(hello, { ...found, foundByIsrc: 'USUM71700626' }).grade).not.toBe('verified');
    expect(scoreCandidate(hello, { ...found, title: 'Rick Astley - Never Gonna Give You Up' }).grade).toBe(
      'rejected',
    );
    expect(scoreCandidate(hello, { ...found, durationMs: 298_000 }).grade).not.toBe('verified');
  });

  it('verifies an art track whose catalogue title and artists match within 2 s, unless a penalty applies', () => {
    const artTrack = {
      id: 'CCCCCCCCCCC',
      title: 'Hello',
      channel: 'Adele - Topic',
      durationMs: 297_000,
      artTrack: { title: 'Hello', artists: ['Adele'] },
    };
    expect(scoreCandidate(hello, artTrack).grade).toBe('verified');
    const live = {
      ...artTrack,
      title: 'Hello (Live)',
      artTrack: { title: 'Hello (Live)', artists: ['Adele'] },
    };
    expect(scoreCandidate(hello, live).grade).not.toBe('verified');
  });

  it('orders the thresholds and lets callers override them', () => {
    expect(defaultMatchThresholds.fuzzy).toBeLessThan(defaultMatchThresholds.strong);
    expect(defaultMatchThresholds.strong).toBeLessThan(defaultMatchThresholds.exact);
    const fan = video('Adele - Hello (Lyrics)', { channel: 'Lyrics Channel' });
    const result = scoreCandidate(hello, fan);
    expect(result.grade).toBe('strong');
    expect(scoreCandidate(hello, fan, { thresholds: { strong: result.score + 0.01 } }).grade).toBe('fuzzy');
    expect(scoreCandidate(hello, fan, { thresholds: { strong: 1.1, fuzzy: 1.1 } }).grade).toBe('rejected');
  });

  it(`holds a candidate more than ${strongDurationGapMs / 1000} s off at fuzzy`, () => {
    const result = scoreCandidate(hello, video('Adele - Hello', { durationMs: hello.durationMs! + 6000 }));
    expect(result.grade).toBe('fuzzy');
  });

  it('ranks by grade, then score, then search order', () => {
    const ranked = rankCandidates(hello, [
      video('Adele - Hello (Live)', { id: 'live0000000' }),
      video('Adele - Hello (Lyrics)', { id: 'lyric000000', channel: 'Lyrics Channel' }),
      video('Hello', { id: 'topic000000', channel: 'Adele - Topic' }),
      video('Adele - Hello (Lyrics)', { id: 'lyric111111', channel: 'Lyrics Channel' }),
    ]);
    expect(ranked.map((entry) => entry.candidate.id)).toEqual([
      'topic000000',
      'lyric000000',
      'lyric111111',
      'live0000000',
    ]);
    expect(meetsGrade('verified', 'exact')).toBe(true);
    expect(meetsGrade('fuzzy', 'strong')).toBe(false);
  });

  it('is deterministic and explains itself', () => {
    const candidate = video('Adele - Hello (Live at the BBC)', { viewCount: 1_000_000 });
    const first = scoreCandidate(hello, candidate);
    expect(scoreCandidate(hello, candidate)).toEqual(first);
    expect(first.reasons.some((reason) => reason.includes('"live" version'))).toBe(true);
    expect(first.parts.views).toBeGreaterThan(0);
    expect(first.score).toBeGreaterThanOrEqual(0);
    expect(first.score).toBeLessThanOrEqual(1);
  });

  it("accepts the engines' VideoCandidate as is", () => {
    const fromEngine: VideoCandidate = {
      engine: 'youtube',
      mediaId: 'youtube:DDDDDDDDDDD',
      id: 'DDDDDDDDDDD',
      url: 'https://www.youtube.com/watch?v=DDDDDDDDDDD',
      title: 'Hello',
      channel: 'Adele - Topic',
      durationMs: 295_000,
      artTrack: { title: 'Hello', artists: ['Adele'], album: '25' },
      foundByIsrc: 'GBBKS1500214',
    };
    expect(rankCandidates(hello, [fromEngine])[0]?.candidate.mediaId).toBe('youtube:DDDDDDDDDDD');
  });
});

describe('evaluation set', () => {
  const groups = loadEvalGroups(mapMusicSearch);

  it('has at least 150 labeled cases in every trap group, some without an acceptable video', () => {
    const cases = groups.flatMap((group) => group.cases);
    expect(cases.length).toBeGreaterThanOrEqual(150);
    expect(groups.map((group) => group.group)).toEqual(
      expect.arrayContaining([
        'live',
        'covers',
        'remixes',
        'sped-slowed',
        'lyric-vs-official',
        'long-intros',
        'loops',
        'same-title',
        'non-latin',
        'explicit-clean',
        'remasters',
        'feat-credits',
        'short-long',
        'plain',
      ]),
    );
    expect(cases.filter((evalCase) => evalCase.acceptable.length === 0).length).toBeGreaterThanOrEqual(15);
    for (const evalCase of cases) expect(evalCase.candidates.length).toBeGreaterThanOrEqual(4);
  });

  it('meets the issue-14 targets: precision@1 ≥ 0.97 and 0.05 over the first song, wrong accepts ≤ 0.5 %, coverage ≥ 0.9, every script ≥ 0.85, frozen groups ≥ 0.93', () => {
    const report = evaluate(groups, rankCandidates);
    expect(report.overall.cases).toBeGreaterThanOrEqual(290);
    expect(report.overall.precision_at_1).toBeGreaterThanOrEqual(0.97);
    expect(report.overall.wrong_accept_rate).toBeLessThanOrEqual(0.005);
    expect(report.overall.coverage).toBeGreaterThanOrEqual(0.9);
    expect(report.overall.precision_at_1).toBeGreaterThan(report.overall.baseline_precision_at_1);
    expect(
      report.overall.precision_at_1 - report.overall.baseline_first_song_precision_at_1,
    ).toBeGreaterThanOrEqual(0.05);
    const scriptCoverage = Object.values(report.scripts).map((script) => script.coverage);
    expect(Math.min(...scriptCoverage)).toBeGreaterThanOrEqual(0.85);
    expect(report.frozen?.cases).toBeGreaterThanOrEqual(120);
    expect(report.frozen?.precision_at_1).toBeGreaterThanOrEqual(0.93);
  });
});

describe('general rules: credits, renditions, remasters, ties', () => {
  const withGuest: TrackMetadata = {
    title: 'Stay (feat. Guest Singer)',
    artists: ['Lead Artist', 'Guest Singer'],
    album: 'First Light',
    durationMs: 200_000,
    ids: {},
  };
  const artTrack = (title: string, artists: string[], album: string, id = 'ARTTRACK001'): MatchCandidate => ({
    id,
    title,
    channel: `${artists[0]} - Topic`,
    durationMs: 200_000,
    artTrack: { title, artists, album },
  });

  it('reads a title that names a subset of the credits as another version, whatever the services credit', () => {
    const solo = artTrack('Stay (just Lead Artist)', ['Lead Artist'], 'First Light (Deluxe)', 'SOLO0000000');
    const creditedLeadOnly = artTrack('Stay (feat. Guest Singer)', ['Lead Artist'], 'First Light');
    const [best, second] = rankCandidates(withGuest, [solo, creditedLeadOnly]);
    expect(best?.candidate.id).toBe('ARTTRACK001');
    expect(meetsGrade(best!.grade, 'exact')).toBe(true);
    expect(second?.parts['penalty:solo']).toBeLessThan(0);
    for (const descriptor of ['Lead Artist only', 'solo', 'without Guest Singer', 'sin Guest Singer']) {
      const other = scoreCandidate(
        withGuest,
        video(`Lead Artist - Stay (${descriptor})`, { durationMs: 200_000 }),
      );
      expect(other.parts['penalty:solo'], descriptor).toBeLessThan(0);
    }
  });

  it('treats a guest the credits drop as the same recording only on the same release', () => {
    const sameRelease = scoreCandidate(withGuest, artTrack('Stay', ['Lead Artist'], 'First Light'));
    expect(sameRelease.parts['penalty:missing-artist']).toBeUndefined();
    const otherRelease = scoreCandidate(withGuest, artTrack('Stay', ['Lead Artist'], 'Stay - Single'));
    expect(otherRelease.parts['penalty:missing-artist']).toBeLessThan(0);
    const leadMissing = scoreCandidate(withGuest, artTrack('Stay', ['Guest Singer'], 'First Light'));
    expect(leadMissing.parts['penalty:missing-artist']).toBeLessThan(0);
  });

  it('takes credits that differ by a numeric suffix for the same artist', () => {
    const track: TrackMetadata = {
      title: 'Night Drive',
      artists: ['Nova 2115'],
      durationMs: 200_000,
      ids: {},
    };
    const result = scoreCandidate(track, artTrack('Night Drive', ['Nova'], 'Night Drive'));
    expect(result.parts.artist).toBeGreaterThanOrEqual(0.9);
    expect(meetsGrade(result.grade, 'strong')).toBe(true);
    const unrelated: TrackMetadata = { ...track, artists: ['Daft Punk'] };
    expect(
      scoreCandidate(unrelated, video('Night Drive', { channel: 'Daft', durationMs: 200_000 })).parts.artist,
    ).toBeLessThan(0.9);
  });

  it.each([
    ['16-Bit Sega Genesis Emulation'],
    ['8-bit version'],
    ['Chiptune'],
    ['Music Box'],
    ['Piano Cover'],
    ['Lofi'],
    ['Karaoke Version'],
    ['现场版'],
  ])('reads "(%s)" as another rendition', (descriptor) => {
    const result = scoreCandidate(hello, video(`Adele - Hello (${descriptor})`));
    expect(meetsGrade(result.grade, 'strong'), descriptor).toBe(false);
  });

  it('reads "<year> Master" as a remaster', () => {
    const track: TrackMetadata = { ...hello, title: 'Hello - 2011 Remaster' };
    const result = scoreCandidate(track, video('Adele - Hello (2017 Master)'));
    expect(result.parts['penalty:remaster-conflict']).toBeLessThan(0);
    expect(scoreCandidate(track, video('Adele - Master of Hello')).parts['penalty:remaster-conflict']).toBe(
      undefined,
    );
  });

  it('lets an art track whose artist is in another script reach exact when title, album and duration agree', () => {
    const track: TrackMetadata = {
      title: 'Lemon',
      artists: ['Kenshi Yonezu'],
      album: 'Lemon',
      durationMs: 255_000,
      ids: {},
    };
    const candidate = artTrack('Lemon', ['米津玄師'], 'Lemon');
    const result = scoreCandidate(track, { ...candidate, durationMs: 256_000 });
    expect(result.grade).toBe('exact');
    expect(result.reasons[0]).toMatch(/another script/);
    // Another album: still only fuzzy.
    expect(
      scoreCandidate(track, {
        ...candidate,
        durationMs: 256_000,
        artTrack: { ...candidate.artTrack!, album: 'Bootleg' },
      }).grade,
    ).toBe('fuzzy');
  });

  it("matches a credit in another script through the track's artist aliases (sort names from MusicBrainz)", () => {
    const track: TrackMetadata = {
      title: '残酷な天使のテーゼ',
      artists: ['Eri Kawai'],
      artistAliases: ['河井英里', 'Kawai, Eri'],
      durationMs: 331_000,
      ids: {},
    };
    const candidate = { ...artTrack('残酷な天使のテーゼ', ['河井英里'], 'animage'), durationMs: 331_000 };
    const result = scoreCandidate(track, candidate);
    expect(result.parts.artist).toBe(1);
    expect(result.grade).toBe('verified');
    const { artistAliases: _aliases, ...withoutAliases } = track;
    expect(scoreCandidate(withoutAliases, candidate).grade).toBe('fuzzy');
  });

  it('does not tie at the top: the art track on the track’s own album outranks one on a compilation', () => {
    const track: TrackMetadata = { ...hello, album: '25' };
    const original = {
      ...artTrack('Hello', ['Adele'], '25', 'ORIGINAL000'),
      durationMs: 295_000,
      viewCount: 1_000,
    };
    const compilation = {
      ...artTrack('Hello', ['Adele'], 'Now That’s What I Call Music! 93', 'COMPILATION'),
      durationMs: 295_000,
      viewCount: 1_000,
    };
    const [best, second] = rankCandidates(track, [compilation, original]);
    expect(best?.candidate.id).toBe('ORIGINAL000');
    expect(best!.score).toBeGreaterThan(second!.score);
    expect(best!.score).toBeGreaterThan(1 - 1e-9);
  });
});

describe('YouTube Music facts', () => {
  const track: TrackMetadata = {
    title: 'Stay',
    artists: ['Lead Artist', 'Guest Singer'],
    album: 'First Light',
    durationMs: 200_000,
    explicit: true,
    ids: {},
  };
  const song = (overrides: Partial<MatchCandidate> = {}): MatchCandidate => ({
    id: 'SONG0000001',
    title: 'Stay',
    channel: 'Lead Artist',
    durationMs: 200_000,
    resultType: 'art-track',
    credits: [
      { name: 'Lead Artist', channelId: 'UCLEAD' },
      { name: 'Guest Singer', channelId: 'UCGUEST' },
    ],
    album: { title: 'First Light', id: 'MPREb_first' },
    explicit: true,
    ...overrides,
  });

  it('reads the result type, every credit and the album of a song result', () => {
    const result = scoreCandidate(track, song());
    expect(result.channelKind).toBe('art-track');
    expect(result.parts.artist).toBe(1);
    expect(result.parts.album).toBe(1);
    expect(meetsGrade(result.grade, 'exact')).toBe(true);
    expect(scoreCandidate(track, song({ resultType: 'official-video' })).channelKind).toBe('artist');
    expect(scoreCandidate(track, song({ resultType: 'user-upload', channel: 'Some Fan' })).channelKind).toBe(
      'other',
    );
  });

  it('takes the missing explicit badge on a song for the clean version, and never accepts an episode', () => {
    expect(scoreCandidate(track, song({ explicit: false })).parts['penalty:explicit-mismatch']).toBeLessThan(
      0,
    );
    expect(scoreCandidate(track, song({ resultType: 'episode' })).grade).toBe('rejected');
  });

  it('breaks a tie in score by the top-result shelf, then by rank', () => {
    const first = song({ id: 'RANK0000002', rank: 2 });
    const second = song({ id: 'RANK0000001', rank: 1 });
    expect(rankCandidates(track, [first, second])[0]?.candidate.id).toBe('RANK0000001');
    const top = song({ id: 'TOP00000001', rank: 3, topResult: true });
    expect(rankCandidates(track, [first, second, top])[0]?.candidate.id).toBe('TOP00000001');
  });
});

describe('transliteration as weak evidence', () => {
  it('takes a kana or Cyrillic credit for the Latin one when both read the same in ASCII, at most strong', () => {
    const yorushika: TrackMetadata = { title: 'Itte', artists: ['Yorushika'], durationMs: 240_000, ids: {} };
    const result = scoreCandidate(
      yorushika,
      video('言って。', { title: 'Itte', channel: 'ヨルシカ', durationMs: 240_000 }),
    );
    expect(result.parts.artist).toBe(0.85);
    expect(result.reasons.join(' ')).not.toMatch(/another script/);
    expect(result.grade).not.toBe('exact');
    const splin: TrackMetadata = { title: 'Романс', artists: ['Splin'], durationMs: 200_000, ids: {} };
    expect(
      scoreCandidate(splin, video('Сплин - Романс', { channel: 'Сплин', durationMs: 200_000 })).parts.artist,
    ).toBe(0.85);
    // Kanji read as Chinese do not agree with the Japanese reading: still unknown.
    const lemon: TrackMetadata = { title: 'Lemon', artists: ['Kenshi Yonezu'], durationMs: 255_000, ids: {} };
    expect(
      scoreCandidate(lemon, video('Lemon', { channel: '米津玄師', durationMs: 255_000 })).reasons.join(' '),
    ).toMatch(/another script/);
  });
});

describe('titles and credits in another writing system (weak evidence)', () => {
  const artTrack = (title: string, artists: string[], album: string, durationMs: number): MatchCandidate => ({
    id: 'ARTTRACK001',
    title,
    resultType: 'art-track',
    channel: artists[0],
    credits: artists.map((name) => ({ name })),
    durationMs,
    artTrack: { title, artists, album },
  });

  it('takes a Devanagari catalogue title and credits against their Latin transliteration as strong, never exact', () => {
    const track: TrackMetadata = {
      title: 'केसरिया',
      artists: ['प्रीतम', 'अरिजीत सिंह'],
      album: 'ब्रह्मास्त्र',
      durationMs: 268_000,
      ids: {},
    };
    const scored = scoreCandidate(
      track,
      artTrack('Kesariya', ['Pritam', 'Arijit Singh'], 'Brahmastra', 268_000),
    );
    expect(scored.grade).toBe('strong');
    expect(scored.parts.title).toBe(0.85);
    expect(scored.reasons.join(' ')).toMatch(/transliterated/);
    expect(Object.keys(scored.parts).some((part) => part === 'penalty:missing-artist')).toBe(false);
    // Another song of the same artists is still another song.
    const other = scoreCandidate(
      track,
      artTrack('Channa Mereya', ['Pritam', 'Arijit Singh'], 'Ae Dil Hai Mushkil', 268_000),
    );
    expect(other.grade).toBe('rejected');
  });

  it('compares Hebrew and Arabic by their consonant outlines, and ignores outlines too short to mean anything', () => {
    const telAviv: TrackMetadata = { title: 'תל אביב', artists: ['עומר אדם'], durationMs: 200_000, ids: {} };
    expect(scoreCandidate(telAviv, artTrack('Tel Aviv', ['Omer Adam'], 'Tel Aviv', 200_000)).grade).toBe(
      'strong',
    );
    // Greek spelled the Greeklish way (`χ` → `h`, `ευ` → `ef`, every `i` sound alike): the same outline.
    const greek: TrackMetadata = {
      title: "Σ' έχω ερωτευτεί",
      artists: ['Σάκης Ρουβάς'],
      durationMs: 233_000,
      ids: {},
    };
    expect(
      scoreCandidate(greek, artTrack("S'eho Erotefthi", ['Sakis Rouvas'], 'Ola Kala', 233_000)).grade,
    ).toBe('strong');
    // Two consonants (`tl`) agree by chance: not evidence.
    const short: TrackMetadata = { title: 'טל', artists: ['עומר אדם'], durationMs: 200_000, ids: {} };
    expect(scoreCandidate(short, artTrack('Tal', ['Omer Adam'], 'Tal', 200_000)).parts.title).toBeLessThan(
      0.85,
    );
  });
});
