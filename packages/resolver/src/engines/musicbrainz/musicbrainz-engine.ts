import packageJson from '../../../package.json' with { type: 'json' };
import type { MetadataEngine, MetadataResult } from '../../engine.js';
import { createHttpClient, type HttpEngineSettings } from '../shared/http-client.js';
import { unlessNotFound } from '../shared/not-found.js';
import { serviceRateLimits } from '../shared/rate-limiter.js';
import { list, record, requireIsrc } from '../shared/track-fields.js';
import { audioFirst, mapMusicBrainzRecording, musicBrainzRecordingQuery } from './musicbrainz-mapping.js';

/** Settings for {@link createMusicBrainzEngine}. MusicBrainz needs no key but a meaningful User-Agent. */
export interface MusicBrainzSettings extends HttpEngineSettings {
  /** Default `https://musicbrainz.org`. */
  baseURL?: string;
  /**
   * How MusicBrainz can reach you (an e-mail or URL), sent in the User-Agent as MusicBrainz requires.
   * Falls back to `NEXSTREAM_CONTACT`, then the project URL.
   */
  contact?: string;
  /** A complete User-Agent, replacing `NexStream/<version> ( <contact> )`. */
  userAgent?: string;
}

const projectUrl = 'https://github.com/nexstream/nexstream';

/** The User-Agent MusicBrainz gets: `NexStream/<version> ( <contact> )`. */
export function musicBrainzUserAgent(contact: string = projectUrl): string {
  return `NexStream/${packageJson.version} ( ${contact} )`;
}

/**
 * MusicBrainz (ws/2 JSON): recordings by ISRC (authoritative, community-curated) and recording search.
 * One request per second, with a User-Agent that says who we are; its 503 "rate limit" answers are
 * retried with backoff.
 */
export function createMusicBrainzEngine(settings: MusicBrainzSettings = {}): MetadataEngine {
  const env = settings.env ?? process.env;
  const userAgent =
    settings.userAgent ?? musicBrainzUserAgent(settings.contact ?? env.NEXSTREAM_CONTACT ?? projectUrl);
  const client = createHttpClient({
    name: 'musicbrainz',
    serviceLimit: serviceRateLimits.musicbrainz,
    ...settings,
    retry: { retryServerErrors: true, ...settings.retry },
    headers: { 'user-agent': userAgent, ...settings.headers },
    baseURL: settings.baseURL ?? 'https://musicbrainz.org',
  });

  return {
    kind: 'metadata',
    id: 'musicbrainz',
    tier: 0,
    capabilities: ['isrc', 'search'],
    lookupPlatforms: [],
    provesIsrc: true,
    async doFindByIsrc({ isrc, signal, onLog }) {
      const wanted = requireIsrc(isrc, 'musicbrainz');
      const response = await unlessNotFound(
        client.json({ path: `/ws/2/isrc/${wanted}?inc=artists+releases&fmt=json`, signal, onLog }),
        null,
      );
      if (!response) return null;
      const recordings = list(record(response.data).recordings)
        .map((recording) => mapMusicBrainzRecording(recording, wanted))
        .filter((item): item is MetadataResult => item !== undefined);
      // Several recordings can share an ISRC (edits, duplicates, the music video); prefer an audio
      // recording, then one with a length.
      recordings.sort(
        (a, b) =>
          Number(a.video === true) - Number(b.video === true) ||
          Number(b.track.durationMs !== undefined) - Number(a.track.durationMs !== undefined),
      );
      return recordings[0] ?? null;
    },
    async doSearch(options) {
      const query = options.track ? musicBrainzRecordingQuery(options.track) : options.query;
      const response = await unlessNotFound(
        client.json({
          path: '/ws/2/recording',
          query: { query, fmt: 'json', limit: options.limit ?? 10 },
          signal: options.signal,
          onLog: options.onLog,
        }),
        null,
      );
      if (!response) return [];
      return audioFirst(
        list(record(response.data).recordings)
          .map((recording) => mapMusicBrainzRecording(recording))
          .filter((item): item is MetadataResult => item !== undefined),
      );
    },
    close: () => client.close(),
  };
}
