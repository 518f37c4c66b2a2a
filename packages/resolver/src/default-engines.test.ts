import { describe, expect, it } from 'vitest';
import { createDefaultEngines } from './default-engines.js';

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
