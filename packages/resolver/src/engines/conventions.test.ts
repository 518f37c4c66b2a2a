import { readFixture } from '@nexstream/testkit';
import { describe, expect, it } from 'vitest';
import { rejectionOf, testSettings, useReplayServer } from '../../test/http-engine-harness.js';
import type { LookupRef, MetadataCapability, MetadataEngine, QueryEngine, VideoEngine } from '../engine.js';
import { createDeezerEngine } from './deezer/deezer-engine.js';
import { createGeminiEngine } from './gemini/gemini-engine.js';
import { createGroqEngine } from './groq/groq-engine.js';
import { createItunesEngine } from './itunes/itunes-engine.js';
import { createMusicBrainzEngine } from './musicbrainz/musicbrainz-engine.js';
import { createOdesliEngine } from './odesli/odesli-engine.js';
import { createSoundchartsEngine } from './soundcharts/soundcharts-engine.js';
import { createSpotifyEngine } from './spotify/spotify-engine.js';
import { createYoutubeMusicEngine } from './youtube-music/youtube-music-engine.js';

// The conventions in engine.ts, checked across every built-in HTTP engine at once: a 404 is "not found"
// (`null` / `[]`, never a thrown NXS_NOT_FOUND), and `capabilities` lists exactly the `do…` methods an engine
// has. The replay server answers every route 404 with a JSON error body, as the services do.

const isrc = 'GBDUW0000059';
const notFoundBody = { error: { message: 'Not Found', code: 404 } };

interface MetadataRow {
  name: string;
  create(baseURL: string): MetadataEngine;
  lookup?: LookupRef;
}

const spotifyCredentials = { clientId: 'client-id', clientSecret: 'client-secret', env: {} };

const metadataRows: MetadataRow[] = [
  {
    name: 'deezer',
    create: (baseURL) => createDeezerEngine({ baseURL, ...testSettings }),
    lookup: { platform: 'deezer', kind: 'track', id: '1' },
  },
  {
    name: 'itunes',
    create: (baseURL) => createItunesEngine({ baseURL, ...testSettings }),
    lookup: { platform: 'apple', kind: 'track', id: '1' },
  },
  { name: 'musicbrainz', create: (baseURL) => createMusicBrainzEngine({ baseURL, ...testSettings }) },
  {
    name: 'soundcharts',
    create: (baseURL) =>
      createSoundchartsEngine({ baseURL, ...testSettings, appId: 'soundcharts', apiKey: 'key', env: {} }),
    lookup: { platform: 'spotify', kind: 'track', id: '1' },
  },
  {
    name: 'odesli',
    create: (baseURL) => createOdesliEngine({ baseURL, ...testSettings, env: {} }),
    lookup: { platform: 'spotify', kind: 'track', id: '1' },
  },
  {
    name: 'spotify (embed page)',
    create: (baseURL) => createSpotifyEngine({ baseURL, ...testSettings, env: {} }),
    lookup: { platform: 'spotify', kind: 'track', id: '1' },
  },
  {
    name: 'spotify (Web API)',
    create: (baseURL) =>
      createSpotifyEngine({
        baseURL,
        apiBaseURL: baseURL,
        accountsBaseURL: baseURL,
        ...testSettings,
        ...spotifyCredentials,
      }),
    lookup: { platform: 'spotify', kind: 'album', id: '1' },
  },
];

const methodOf: Record<MetadataCapability, keyof MetadataEngine> = {
  isrc: 'doFindByIsrc',
  search: 'doSearch',
  lookup: 'doLookup',
};

describe('engine conventions', () => {
  const context = useReplayServer();
  const everything404 = async () => {
    context.server.on('POST', '/api/token', { json: await tokenBody() });
    context.server.on('GET', /.*/, { status: 404, json: notFoundBody });
    context.server.on('POST', /^(?!\/api\/token)/, { status: 404, json: notFoundBody });
  };

  describe.each(metadataRows)('$name', (row) => {
    it('answers a 404 with null or [] (not found), never NXS_NOT_FOUND', async () => {
      await everything404();
      const engine = context.track(row.create(context.server.url));
      if (engine.doFindByIsrc) expect(await engine.doFindByIsrc({ isrc })).toBeNull();
      if (engine.doSearch) {
        expect(await engine.doSearch({ query: 'nothing at all' })).toEqual([]);
        expect(await engine.doSearch({ track: { title: 'Nothing', artists: ['Nobody'] } })).toEqual([]);
      }
      if (engine.doLookup && row.lookup) expect(await engine.doLookup({ ref: row.lookup })).toBeNull();
      expect(context.server.requests.length).toBeGreaterThan(0);
    });

    it('lists in capabilities exactly the do… methods it has', () => {
      const engine = context.track(row.create(context.server.url));
      for (const [capability, method] of Object.entries(methodOf)) {
        expect(typeof engine[method] === 'function', `${capability} ↔ ${method}`).toBe(
          engine.capabilities.includes(capability as MetadataCapability),
        );
      }
    });
  });

  it('youtube-music answers a 404 search with [] (not found)', async () => {
    await everything404();
    const engine: VideoEngine = context.track(createYoutubeMusicEngine({ baseURL: context.server.url }));
    expect(await engine.doSearchVideos({ query: 'nothing at all' })).toEqual([]);
    expect(await engine.doSearchByIsrc({ isrc })).toEqual([]);
  });

  it.each([
    {
      name: 'groq',
      create: (baseURL: string): QueryEngine =>
        createGroqEngine({ baseURL, ...testSettings, apiKey: 'key', env: {} }),
    },
    {
      name: 'gemini',
      create: (baseURL: string): QueryEngine =>
        createGeminiEngine({ baseURL, ...testSettings, apiKey: 'key', env: {} }),
    },
  ])(
    '$name (a query engine) has no "not found": a 404 is a non-retryable NXS_NOT_FOUND',
    async ({ create }) => {
      await everything404();
      const engine = context.track(create(context.server.url));
      const error = await rejectionOf(
        engine.doSynthesizeQuery({ track: { title: 'Song', artists: ['Artist'] } }),
      );
      expect(error).toMatchObject({ code: 'NXS_NOT_FOUND', retryable: false });
    },
  );

  it.each([
    {
      name: 'soundcharts',
      create: () => createSoundchartsEngine({ env: {} }),
      variables: /SOUNDCHARTS_APP_ID/,
    },
    { name: 'groq', create: () => createGroqEngine({ env: {} }), variables: /GROQ_API_KEY/ },
    { name: 'gemini', create: () => createGeminiEngine({ env: {} }), variables: /GEMINI_API_KEY/ },
  ])(
    '$name without its key fails at construction with NXS_INVALID_INPUT naming the env var',
    ({ create, variables }) => {
      let thrown: unknown;
      try {
        create();
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ code: 'NXS_INVALID_INPUT', retryable: false });
      expect((thrown as Error).message).toMatch(variables);
    },
  );
});

function tokenBody(): Promise<unknown> {
  return readFixture(new URL('../__fixtures__/spotify/token.json', import.meta.url));
}
