import { describe, expect, it } from 'vitest';
import { fixtureTrack, videos } from '../test/race-harness.js';
import type { VideoCandidate } from './engine.js';
import { gradeCandidate, gradeExtractedWinner } from './grading.js';
import type { IsrcAuthority } from './verification.js';

const track = {
  title: 'Harder, Better, Faster, Stronger',
  artists: ['Daft Punk'],
  album: 'Discovery',
  durationMs: fixtureTrack.durationMs,
  isrc: fixtureTrack.isrc,
  ids: { deezer: fixtureTrack.deezerId },
};
const authority: IsrcAuthority = { isrc: fixtureTrack.isrc, source: 'deezer', track };

/** The art track as a flat search lists it: no catalogue fields, which only `yt-dlp -J` parses. */
const { artTrack: _fields, ...searchEntry } = videos.artTrack;

function winnerOf(candidate: VideoCandidate, graded = gradeCandidate(track, candidate, authority)) {
  return { candidate, ...graded };
}

describe('the winner graded again on its full extraction', () => {
  it('promotes a winner to verified when the extraction adds the art-track fields that tie it to the ISRC', () => {
    const winner = winnerOf(searchEntry);
    expect(winner.grade).not.toBe('verified');
    const regraded = gradeExtractedWinner(winner, videos.artTrack, track, authority);
    expect(regraded).toMatchObject({ grade: 'verified', promoted: true });
    expect(regraded.candidate.artTrack).toEqual(videos.artTrack.artTrack);
  });

  it('keeps the race grade and the search entry without an authoritative ISRC', () => {
    const winner = { candidate: searchEntry, ...gradeCandidate(track, searchEntry, undefined) };
    const regraded = gradeExtractedWinner(winner, videos.artTrack, track, undefined);
    expect(regraded).toMatchObject({ grade: winner.grade, promoted: false });
    expect(regraded.score).toBe(winner.score);
    expect(regraded.candidate).toBe(searchEntry);
  });

  it('keeps a verified winner as graded, with its ISRC tie and duration, and takes the extracted fields', () => {
    const found = { ...videos.officialAudio, foundByIsrc: fixtureTrack.isrc };
    const winner = winnerOf(found);
    expect(winner.grade).toBe('verified');
    const { durationMs: _unknown, ...extracted } = { ...videos.officialAudio, viewCount: 12_500_000 };
    const regraded = gradeExtractedWinner(winner, extracted, track, authority);
    expect(regraded).toMatchObject({ grade: 'verified', promoted: false });
    expect(regraded.score).toBe(winner.score);
    expect(regraded.candidate).toMatchObject({
      foundByIsrc: fixtureTrack.isrc,
      durationMs: fixtureTrack.durationMs,
      viewCount: 12_500_000,
    });
  });
});
