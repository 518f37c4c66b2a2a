import { describe, expect, it } from 'vitest';
import { videos } from '../test/race-harness.js';
import type { MetadataResult } from './engine.js';
import { gradeCandidate, toMatchCandidate } from './grading.js';
import { buildVerifiedMatch, checkIsrcAuthority, verificationMethodOf } from './verification.js';

const spotifyTrack = {
  title: 'Harder, Better, Faster, Stronger',
  artists: ['Daft Punk'],
  durationMs: 224_693,
  ids: { spotify: '5W3cjX2J3tjhG8zb6u0qHn' },
};
const deezer = (overrides: Partial<MetadataResult['track']> = {}, authoritative = true): MetadataResult => ({
  engine: 'deezer',
  isrcAuthoritative: authoritative,
  track: {
    title: 'Harder Better Faster Stronger',
    artists: ['Daft Punk'],
    album: 'Discovery',
    durationMs: 224_000,
    isrc: 'GBDUW0000059',
    ids: { deezer: '3135556' },
    ...overrides,
  },
});

describe('ISRC authority', () => {
  it('trusts an authoritative ISRC whose recording agrees with the input', () => {
    const check = checkIsrcAuthority(spotifyTrack, deezer());
    expect(check.authority).toMatchObject({ isrc: 'GBDUW0000059', source: 'deezer' });
  });

  it('refuses a hint, another title, another artist or another duration', () => {
    expect(checkIsrcAuthority(spotifyTrack, deezer({}, false)).authority).toBeUndefined();
    expect(checkIsrcAuthority(spotifyTrack, deezer({ title: 'One More Time' })).reasons[0]).toMatch(/title/);
    expect(checkIsrcAuthority(spotifyTrack, deezer({ artists: ['Kanye West'] })).reasons[0]).toMatch(
      /artists/,
    );
    expect(checkIsrcAuthority(spotifyTrack, deezer({ durationMs: 312_000 })).reasons[0]).toMatch(/duration/);
  });

  it('ignores bracketed versions and remaster suffixes when comparing titles', () => {
    const check = checkIsrcAuthority(
      { ...spotifyTrack, title: 'Harder, Better, Faster, Stronger - Remastered 2021' },
      deezer(),
    );
    expect(check.authority).toBeDefined();
  });
});

describe('race grade and verification', () => {
  const track = { ...spotifyTrack, isrc: 'GBDUW0000059', durationMs: 224_000 };
  const authority = { isrc: 'GBDUW0000059', source: 'deezer', track: deezer().track };
  const isrcHit = { ...videos.officialAudio, foundByIsrc: 'GBDUW0000059' };

  it('keeps the ISRC tie only under an authority', () => {
    expect(toMatchCandidate(isrcHit, authority).foundByIsrc).toBe('GBDUW0000059');
    expect(toMatchCandidate(isrcHit, undefined).foundByIsrc).toBeUndefined();
  });

  it('grades an art track without an authoritative ISRC exact at most, and verified with one', () => {
    const { score, grade } = gradeCandidate(track, videos.artTrack, undefined);
    expect(score.grade).toBe('verified');
    expect(grade).not.toBe('verified');
    expect(gradeCandidate(track, videos.artTrack, authority).grade).toBe('verified');
    expect(verificationMethodOf(videos.artTrack, score, authority, track.durationMs)).toBe('art-track');
    expect(verificationMethodOf(videos.artTrack, score, undefined, track.durationMs)).toBeUndefined();
  });

  it('names the ISRC search as the tie of a video it found', () => {
    const { score } = gradeCandidate(track, isrcHit, authority);
    expect(score.grade).toBe('verified');
    expect(verificationMethodOf(isrcHit, score, authority, track.durationMs)).toBe('isrc-search');
  });

  /** The art track's media as yt-dlp's YouTube extractor gives it (formats left out). */
  const media = {
    id: videos.artTrack.mediaId,
    platform: 'youtube' as const,
    pageUrl: videos.artTrack.url,
    title: videos.artTrack.title,
    formats: [],
  };

  it('builds the registry match, or returns the registry checks that refused it', () => {
    const built = buildVerifiedMatch({
      track,
      authority,
      method: 'art-track',
      media,
      candidate: videos.artTrack,
      via: 'race',
    });
    expect('match' in built && built.match.track.isrc).toBe('GBDUW0000059');
    const refused = buildVerifiedMatch({
      track,
      authority,
      method: 'art-track',
      media: { ...media, durationMs: 300_000 },
      candidate: videos.artTrack,
      via: 'race',
    });
    expect('problems' in refused && refused.problems.join(' ')).toMatch(/apart/);
  });

  it('never verifies a video the caller picked, nor a page that was not read by the YouTube extractor', () => {
    const parts = { track, authority, method: 'art-track' as const, media, candidate: videos.artTrack };
    // @ts-expect-error: the type admits only the race's own pick.
    const picked = buildVerifiedMatch({ ...parts, via: 'override' });
    expect('problems' in picked && picked.problems.join(' ')).toMatch(/never verified/);

    // The same art-track fields on a page the generic extractor read: a look-alike, never verified.
    const lookAlike = { ...videos.artTrack, mediaId: 'generic:attacker-page', url: 'http://10.0.0.5/page' };
    const { score } = gradeCandidate(track, lookAlike, authority);
    expect(score.grade).toBe('verified');
    expect(verificationMethodOf(lookAlike, score, authority, track.durationMs)).toBeUndefined();
    const generic = buildVerifiedMatch({
      ...parts,
      media: { ...media, id: 'generic:attacker-page', platform: 'generic' as const },
      candidate: lookAlike,
      via: 'race',
    });
    expect('problems' in generic && generic.problems.join(' ')).toMatch(/YouTube extractor/);
  });
});
