import { readFixture } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import { mostInWindow, useReplayServer } from '../test/http-engine-harness.js';
import { createDefaultEngines, type DefaultEnginesOptions } from './default-engines.js';
import { serviceRateLimits } from './engines/shared/rate-limiter.js';

/** Only the named engine, pointed at the replay server. */
function only(name: 'deezer' | 'musicbrainz', baseURL: string): DefaultEnginesOptions {
  const off = {
    spotify: false,
    deezer: false,
    itunes: false,
    musicbrainz: false,
    youtubeMusic: false,
    youtube: false,
  } as const;
  return { env: {}, ...off, [name]: { baseURL } };
}

describe('createDefaultEngines', () => {
  it('builds the key-less engines and leaves out keyed ones and Odesli without configuration', async () => {
    const set = createDefaultEngines({ env: {} });
    try {
      expect(set.engines.map((engine) => engine.id)).toEqual([
        'spotify',
        'deezer',
        'itunes',
        'musicbrainz',
        'youtube-music',
        'youtube',
      ]);
      expect(set.metadata.filter((engine) => engine.provesIsrc).map((engine) => engine.id)).toEqual([
        'deezer',
        'musicbrainz',
      ]);
      expect(set.query).toEqual([]);
    } finally {
      await set.close();
    }
  });

  it('adds Soundcharts, Groq, Gemini when their keys are set, and Odesli when NEXSTREAM_ODESLI=1', async () => {
    const set = createDefaultEngines({
      env: {
        SOUNDCHARTS_APP_ID: 'soundcharts',
        SOUNDCHARTS_API_KEY: 'soundcharts',
        GROQ_API_KEY: 'g',
        GEMINI_API_KEY: 'k',
        SPOTIFY_CLIENT_ID: 'id',
        SPOTIFY_CLIENT_SECRET: 'secret',
        NEXSTREAM_ODESLI: '1',
      },
      itunes: false,
    });
    try {
      expect(set.engines.map((engine) => engine.id)).toEqual([
        'spotify',
        'deezer',
        'musicbrainz',
        'soundcharts',
        'odesli',
        'youtube-music',
        'youtube',
        'groq',
        'gemini',
      ]);
      expect(set.metadata.find((engine) => engine.id === 'spotify')?.capabilities).toContain('search');
      expect(set.query.map((engine) => engine.tier)).toEqual([2, 2]);
    } finally {
      await set.close();
    }
  });
});

describe('createDefaultEngines under load, on the replay server', () => {
  const context = useReplayServer();

  it('builds Deezer with its published limit: of 100 concurrent look-ups, 50 start at once and no more than 50 in any 5 s', async () => {
    const track = await readFixture(new URL('./__fixtures__/deezer/track-isrc.json', import.meta.url));
    const times: number[] = [];
    context.server.on('GET', /^\/track\/\d+$/, () => {
      times.push(performance.now());
      return { json: track, latencyMs: 400 };
    });
    const set = createDefaultEngines(only('deezer', context.server.url));
    context.track(set);
    const [deezer] = set.metadata;
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        deezer!.doLookup!({ ref: { platform: 'deezer', kind: 'track', id: String(1_000 + index) } }),
      ),
    );
    expect(results.every((result) => result?.kind === 'track')).toBe(true);
    const { limit, windowMs } = serviceRateLimits.deezer;
    // Arrival times at the server, with 50 ms of slack for loopback jitter around the limiter's own clock.
    const sorted = [...times].sort((a, b) => a - b);
    expect(sorted).toHaveLength(100);
    // A pool of 8 would have needed 7 rounds of 400 ms (2.8 s) for the first 50; the margin is for a loaded machine.
    expect(sorted[limit - 1]! - sorted[0]!).toBeLessThan(2_000);
    expect(mostInWindow(times, windowMs - 50)).toBe(limit);
    expect(sorted[limit]! - sorted[0]!).toBeGreaterThanOrEqual(windowMs - 50);
  }, 20_000);

  it('builds MusicBrainz with its published limit: one request a second, however many wait', async () => {
    const isrc = await readFixture(new URL('./__fixtures__/musicbrainz/isrc.json', import.meta.url));
    const times: number[] = [];
    context.server.on('GET', /^\/ws\/2\/isrc\//, () => {
      times.push(performance.now());
      return { json: isrc };
    });
    const set = createDefaultEngines(only('musicbrainz', context.server.url));
    context.track(set);
    const [musicbrainz] = set.metadata;
    await Promise.all(
      ['GBDUW0000059', 'GBDUW0000060', 'GBDUW0000061'].map((code) =>
        musicbrainz!.doFindByIsrc!({ isrc: code }),
      ),
    );
    expect(times).toHaveLength(3);
    expect(mostInWindow(times, serviceRateLimits.musicbrainz.windowMs - 50)).toBe(1);
  }, 10_000);
});
