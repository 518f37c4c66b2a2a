import { describe, expect, it } from 'vitest';
import { NexStreamError } from './errors.js';
import { isValidIsrc, maxInputLength, normalizeIsrc, parseInput, parseIsrc } from './parse-input.js';
import type { TrackRef } from './types.js';

const spotifyTrack = '4cOdK2wGLETKBW3PvgPWqT';
const spotifyAlbum = '6N9PS4QXF1D0OWPk0Sxtb4';
const spotifyPlaylist = '37i9dQZF1DXcBWIGoYBM5M';
const spotifyArtist = '0gxyHStUsqpMadRV0Di1Qt';
const video = 'dQw4w9WgXcQ';
const youTubeList = 'PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI';

const spotify = (
  kind: 'track' | 'album' | 'playlist' | 'artist',
  id: string,
  language?: string,
): TrackRef => ({
  type: 'platform',
  platform: 'spotify',
  kind,
  id,
  url: `https://open.spotify.com/${kind}/${id}`,
  ...(language ? { language } : {}),
});
const deezer = (
  kind: 'track' | 'album' | 'playlist' | 'artist',
  id: string,
  language?: string,
): TrackRef => ({
  type: 'platform',
  platform: 'deezer',
  kind,
  id,
  url: `https://www.deezer.com/${kind}/${id}`,
  ...(language ? { language } : {}),
});
const youTubeVideo: TrackRef = {
  type: 'platform',
  platform: 'youtube',
  kind: 'track',
  id: video,
  url: `https://www.youtube.com/watch?v=${video}`,
};
const youTubePlaylist: TrackRef = {
  type: 'platform',
  platform: 'youtube',
  kind: 'playlist',
  id: youTubeList,
  url: `https://www.youtube.com/playlist?list=${youTubeList}`,
};
const appleTrackInAlbum = (region: string | undefined): TrackRef => ({
  type: 'platform',
  platform: 'apple',
  kind: 'track',
  id: '1558534271',
  albumId: '1558533900',
  url: `https://music.apple.com/${region ?? 'us'}/album/1558533900?i=1558534271`,
  ...(region ? { region } : {}),
});

const links: Array<[string, TrackRef]> = [
  // Spotify
  [`https://open.spotify.com/track/${spotifyTrack}`, spotify('track', spotifyTrack)],
  [`https://open.spotify.com/track/${spotifyTrack}?si=1a2b3c4d5e6f4a7b`, spotify('track', spotifyTrack)],
  [
    `https://open.spotify.com/track/${spotifyTrack}?si=abc&context=spotify%3Aplaylist%3A${spotifyPlaylist}`,
    spotify('track', spotifyTrack),
  ],
  [`https://open.spotify.com/intl-de/track/${spotifyTrack}?si=x`, spotify('track', spotifyTrack, 'de')],
  [`https://open.spotify.com/intl-pt/track/${spotifyTrack}`, spotify('track', spotifyTrack, 'pt')],
  // Interface languages, not storefronts (issue 15): Japanese, traditional Chinese.
  [`https://open.spotify.com/intl-ja/track/${spotifyTrack}?si=5d2d`, spotify('track', spotifyTrack, 'ja')],
  [`https://open.spotify.com/intl-zh-hant/track/${spotifyTrack}`, spotify('track', spotifyTrack, 'zh-hant')],
  // A track shared from its album page.
  [
    `https://open.spotify.com/album/${spotifyAlbum}?highlight=spotify:track:${spotifyTrack}`,
    { ...spotify('track', spotifyTrack), albumId: spotifyAlbum } as TrackRef,
  ],
  [
    `https://open.spotify.com/intl-fr/album/${spotifyAlbum}?si=abc&highlight=spotify%3Atrack%3A${spotifyTrack}`,
    { ...spotify('track', spotifyTrack, 'fr'), albumId: spotifyAlbum } as TrackRef,
  ],
  [`https://open.spotify.com/track/${spotifyTrack}/`, spotify('track', spotifyTrack)],
  [`http://open.spotify.com/track/${spotifyTrack}`, spotify('track', spotifyTrack)],
  [`open.spotify.com/track/${spotifyTrack}`, spotify('track', spotifyTrack)],
  [
    `https://open.spotify.com/embed/track/${spotifyTrack}?utm_source=generator&theme=0`,
    spotify('track', spotifyTrack),
  ],
  [`https://open.spotify.com/album/${spotifyAlbum}?si=QwErTy`, spotify('album', spotifyAlbum)],
  [`https://open.spotify.com/intl-fr/album/${spotifyAlbum}`, spotify('album', spotifyAlbum, 'fr')],
  [
    `https://open.spotify.com/playlist/${spotifyPlaylist}?si=8c2f&pi=u-abc`,
    spotify('playlist', spotifyPlaylist),
  ],
  [`https://open.spotify.com/user/spotify/playlist/${spotifyPlaylist}`, spotify('playlist', spotifyPlaylist)],
  [`https://open.spotify.com/embed/playlist/${spotifyPlaylist}`, spotify('playlist', spotifyPlaylist)],
  [`https://open.spotify.com/artist/${spotifyArtist}?si=abc`, spotify('artist', spotifyArtist)],
  [`spotify:track:${spotifyTrack}`, spotify('track', spotifyTrack)],
  [`spotify:album:${spotifyAlbum}`, spotify('album', spotifyAlbum)],
  [`spotify:playlist:${spotifyPlaylist}`, spotify('playlist', spotifyPlaylist)],
  [`spotify:artist:${spotifyArtist}`, spotify('artist', spotifyArtist)],
  [`spotify:user:spotify:playlist:${spotifyPlaylist}`, spotify('playlist', spotifyPlaylist)],
  [`https://embed.spotify.com/?uri=spotify:track:${spotifyTrack}`, spotify('track', spotifyTrack)],
  [
    'https://spotify.link/ZkYmM6ZJ1Db',
    { type: 'redirect', platform: 'spotify', url: 'https://spotify.link/ZkYmM6ZJ1Db' },
  ],
  // Deezer
  ['https://www.deezer.com/track/781592622', deezer('track', '781592622')],
  ['https://www.deezer.com/fr/track/781592622', deezer('track', '781592622', 'fr')],
  [
    'https://www.deezer.com/en/track/781592622?utm_source=deezer&utm_content=track-781592622',
    deezer('track', '781592622', 'en'),
  ],
  ['deezer.com/us/track/781592622/', deezer('track', '781592622', 'us')],
  ['https://www.deezer.com/de/album/302127', deezer('album', '302127', 'de')],
  ['https://www.deezer.com/pt-br/track/781592622', deezer('track', '781592622', 'pt-br')],
  ['https://www.deezer.com/playlist/908622995', deezer('playlist', '908622995')],
  ['https://www.deezer.com/en/artist/27', deezer('artist', '27', 'en')],
  [
    'https://deezer.page.link/3VX7TqaFnNtWzELd9',
    { type: 'redirect', platform: 'deezer', url: 'https://deezer.page.link/3VX7TqaFnNtWzELd9' },
  ],
  [
    'https://link.deezer.com/s/30Bu4hRUZt8TjYvRiGvuF',
    { type: 'redirect', platform: 'deezer', url: 'https://link.deezer.com/s/30Bu4hRUZt8TjYvRiGvuF' },
  ],
  // Apple Music / iTunes
  [
    'https://music.apple.com/us/album/never-gonna-give-you-up/1558533900?i=1558534271',
    appleTrackInAlbum('us'),
  ],
  [
    'https://music.apple.com/gb/album/never-gonna-give-you-up/1558533900?i=1558534271&ls=1&app=music',
    appleTrackInAlbum('gb'),
  ],
  [
    'https://itunes.apple.com/us/album/never-gonna-give-you-up/id1558533900?i=1558534271&uo=4',
    appleTrackInAlbum('us'),
  ],
  [
    'https://music.apple.com/us/song/never-gonna-give-you-up/1558534271',
    {
      type: 'platform',
      platform: 'apple',
      kind: 'track',
      id: '1558534271',
      url: 'https://music.apple.com/us/song/1558534271',
      region: 'us',
    },
  ],
  [
    'https://music.apple.com/fr/album/whenever-you-need-somebody/1558533900',
    {
      type: 'platform',
      platform: 'apple',
      kind: 'album',
      id: '1558533900',
      url: 'https://music.apple.com/fr/album/1558533900',
      region: 'fr',
    },
  ],
  [
    'https://music.apple.com/us/playlist/todays-hits/pl.f4d106fed2bd41149aaacabb233eb5eb',
    {
      type: 'platform',
      platform: 'apple',
      kind: 'playlist',
      id: 'pl.f4d106fed2bd41149aaacabb233eb5eb',
      url: 'https://music.apple.com/us/playlist/pl.f4d106fed2bd41149aaacabb233eb5eb',
      region: 'us',
    },
  ],
  [
    'https://music.apple.com/us/playlist/road-trip/pl.u-2aoq8mqiGo7J6A0',
    {
      type: 'platform',
      platform: 'apple',
      kind: 'playlist',
      id: 'pl.u-2aoq8mqiGo7J6A0',
      url: 'https://music.apple.com/us/playlist/pl.u-2aoq8mqiGo7J6A0',
      region: 'us',
    },
  ],
  [
    'https://music.apple.com/us/artist/rick-astley/669771',
    {
      type: 'platform',
      platform: 'apple',
      kind: 'artist',
      id: '669771',
      url: 'https://music.apple.com/us/artist/669771',
      region: 'us',
    },
  ],
  // YouTube
  [`https://www.youtube.com/watch?v=${video}`, youTubeVideo],
  [`https://www.youtube.com/watch?v=${video}&list=${youTubeList}&index=3`, youTubeVideo],
  [`https://www.youtube.com/watch?v=${video}&t=42s&ab_channel=RickAstley`, youTubeVideo],
  [`https://youtube.com/watch?feature=shared&v=${video}`, youTubeVideo],
  [`https://m.youtube.com/watch?v=${video}&pp=ygUJcmljayByb2xs`, youTubeVideo],
  [`https://youtu.be/${video}`, youTubeVideo],
  [`https://youtu.be/${video}?si=Nq3x9cX0bLrKq2Wv`, youTubeVideo],
  [`https://youtu.be/${video}?t=43`, youTubeVideo],
  [`https://music.youtube.com/watch?v=${video}&feature=share`, youTubeVideo],
  [`https://www.youtube.com/shorts/${video}`, youTubeVideo],
  [`https://youtube.com/shorts/${video}?si=abc`, youTubeVideo],
  [`https://www.youtube.com/embed/${video}?autoplay=1`, youTubeVideo],
  [`https://www.youtube-nocookie.com/embed/${video}`, youTubeVideo],
  [`https://www.youtube.com/live/${video}?feature=share`, youTubeVideo],
  [`www.youtube.com/watch?v=${video}`, youTubeVideo],
  [`https://www.youtube.com/playlist?list=${youTubeList}`, youTubePlaylist],
  [`https://music.youtube.com/playlist?list=${youTubeList}`, youTubePlaylist],
  // Around the link
  [`   https://youtu.be/${video}  \n`, youTubeVideo],
  [`Check this out https://open.spotify.com/track/${spotifyTrack}?si=x !`, spotify('track', spotifyTrack)],
  [`(see https://youtu.be/${video}).`, youTubeVideo],
  [
    `listen: open.spotify.com/intl-de/track/${spotifyTrack}, it is great`,
    spotify('track', spotifyTrack, 'de'),
  ],
  [`try spotify:track:${spotifyTrack} on desktop`, spotify('track', spotifyTrack)],
  [
    `first https://www.deezer.com/track/781592622 then https://youtu.be/${video}`,
    deezer('track', '781592622'),
  ],
];

describe('parseInput: links', () => {
  it('covers at least 40 real-world link variants', () => {
    expect(links.length).toBeGreaterThanOrEqual(40);
  });

  it.each(links)('reads %j', (input, expected) => {
    expect(parseInput(input)).toEqual(expected);
  });
});

describe('parseInput: ISRCs and queries', () => {
  it.each([
    ['GBDUW0000059', 'GBDUW0000059'],
    ['gbduw0000059', 'GBDUW0000059'],
    ['GB-DUW-00-00059', 'GBDUW0000059'],
    ['  us-rc1-76-07839 ', 'USRC17607839'],
    ['ISRC: USRC17607839', 'USRC17607839'],
  ])('normalizes the ISRC %j', (input, isrc) => {
    expect(parseInput(input)).toEqual({ type: 'isrc', isrc });
  });

  it.each([
    ['Never Gonna Give You Up', 'Never Gonna Give You Up'],
    ['  rick   astley\tnever gonna\n give you up ', 'rick astley never gonna give you up'],
    ['AC/DC', 'AC/DC'],
    ['Mr.Brightside', 'Mr.Brightside'],
    ['dQw4w9WgXcQ', 'dQw4w9WgXcQ'],
    ['GBDUW000005', 'GBDUW000005'],
    ['Spotify: Blinding Lights', 'Spotify: Blinding Lights'],
    ['I love youtube.com and deezer', 'I love youtube.com and deezer'],
  ])('treats %j as a search query', (input, query) => {
    expect(parseInput(input)).toEqual({ type: 'query', query });
  });
});

describe('parseInput: invalid input', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty input', '', /input is empty/],
    ['blank input', ' \n\t ', /input is empty/],
    ['input over the length limit', 'a'.repeat(maxInputLength + 1), /over the limit of 2000/],
    ['an unknown host', 'https://example.com/track/1', /unsupported link host "example\.com"/],
    ['an unknown host in pasted text', 'Check this out https://example.com !', /unsupported link host/],
    ['an unknown host without scheme', 'example.com/song/1', /unsupported link host "example\.com"/],
    ['a non-http scheme', 'ftp://open.spotify.com/track/x', /unsupported link scheme "ftp:"/],
    [
      'a short Spotify id',
      'https://open.spotify.com/track/4cOdK2wGLETKBW3PvgPW',
      /expected 22 letters and digits/,
    ],
    [
      'a Spotify id with symbols',
      `https://open.spotify.com/track/4cOdK2wGLETKBW3PvgP-qT`,
      /malformed Spotify track id/,
    ],
    ['a malformed Spotify URI', 'spotify:track:abc', /malformed Spotify track id "abc"/],
    ['a Spotify podcast', `https://open.spotify.com/episode/${spotifyTrack}`, /podcasts are not supported/],
    ['a Spotify page that is no item', 'https://open.spotify.com/search/rick', /unsupported Spotify link/],
    ['a 10-character YouTube id', 'https://youtu.be/dQw4w9WgXc', /expected 11 letters, digits/],
    [
      'a 12-character YouTube id',
      'https://www.youtube.com/watch?v=dQw4w9WgXcQQ',
      /malformed YouTube video id/,
    ],
    ['a YouTube watch link without video', 'https://www.youtube.com/watch?feature=share', /has no video/],
    ['a YouTube channel handle', 'https://www.youtube.com/@RickAstleyYT', /unsupported YouTube link/],
    ['a non-numeric Deezer id', 'https://www.deezer.com/track/abc', /expected a number/],
    ['a Deezer page that is no item', 'https://www.deezer.com/en/shows', /unsupported Deezer link/],
    [
      'a non-numeric Apple album id',
      'https://music.apple.com/us/album/name/abc',
      /malformed Apple Music album id/,
    ],
    [
      'a non-numeric Apple ?i= id',
      'https://music.apple.com/us/album/name/123?i=x',
      /malformed Apple Music track id/,
    ],
    ['an Apple page that is no item', 'https://music.apple.com/us/browse', /unsupported Apple Music link/],
    ['a malformed URL', 'https://open.spotify.com:99999/track/x', /malformed link/],
  ];

  it.each(cases)('rejects %s with NXS_INVALID_INPUT', (_name, input, message) => {
    let thrown: unknown;
    try {
      parseInput(input);
    } catch (error) {
      thrown = error;
    }
    expect(NexStreamError.is(thrown)).toBe(true);
    expect((thrown as NexStreamError).code).toBe('NXS_INVALID_INPUT');
    expect((thrown as NexStreamError).message).toMatch(message);
  });

  it('tells what to paste when the host is unknown', () => {
    expect(() => parseInput('https://example.com/x')).toThrow(
      'unsupported link host "example.com": paste a Spotify, Deezer, Apple Music or YouTube link, an ISRC, or search text',
    );
  });

  it('accepts input of exactly the length limit', () => {
    expect(parseInput('a'.repeat(maxInputLength))).toEqual({
      type: 'query',
      query: 'a'.repeat(maxInputLength),
    });
  });
});

describe('parseIsrc: the one reading of an ISRC (registry, engines, parseInput)', () => {
  it('gives the stored form for every accepted spelling, and undefined for anything else', () => {
    expect(parseIsrc(' us-rc1-76-07839 ')).toBe('USRC17607839');
    expect(parseIsrc('ISRC: GBDUW0000059')).toBe('GBDUW0000059');
    expect(parseIsrc('GB DUW 00 00059')).toBe('GBDUW0000059');
    for (const value of ['USRC1760783', 'USRC176078390', '', 42, null, undefined, { isrc: 'GBDUW0000059' }]) {
      expect(parseIsrc(value)).toBeUndefined();
    }
  });
});

describe('normalizeIsrc and isValidIsrc', () => {
  it('normalizes hyphenated, spaced and lower-case spellings', () => {
    expect(normalizeIsrc('gb-duw-00-00059')).toBe('GBDUW0000059');
    expect(normalizeIsrc('GB DUW 00 00059')).toBe('GBDUW0000059');
  });

  it('rejects codes of the wrong shape', () => {
    expect(isValidIsrc('GBDUW0000059')).toBe(true);
    expect(isValidIsrc('G1DUW0000059')).toBe(false);
    expect(isValidIsrc('GBDUW000005X')).toBe(false);
    expect(isValidIsrc('GBDU!0000059')).toBe(false);
    expect(() => normalizeIsrc('not an isrc')).toThrow(
      /expected 2 letters, 3 letters or digits and 7 digits/,
    );
  });
});
