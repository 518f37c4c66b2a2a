import type { Dispatcher } from 'undici';
import type { Engine, MetadataEngine, QueryEngine, VideoEngine } from './engine.js';
import { createDeezerEngine, type DeezerSettings } from './engines/deezer/deezer-engine.js';
import { createGeminiEngine, type GeminiSettings } from './engines/gemini/gemini-engine.js';
import { createGroqEngine, type GroqSettings } from './engines/groq/groq-engine.js';
import { createItunesEngine, type ItunesSettings } from './engines/itunes/itunes-engine.js';
import {
  createMusicBrainzEngine,
  type MusicBrainzSettings,
} from './engines/musicbrainz/musicbrainz-engine.js';
import { createOdesliEngine, type OdesliSettings } from './engines/odesli/odesli-engine.js';
import { credential } from './engines/shared/track-fields.js';
import {
  createSoundchartsEngine,
  hasSoundchartsCredentials,
  type SoundchartsSettings,
} from './engines/soundcharts/soundcharts-engine.js';
import { createSpotifyEngine, type SpotifySettings } from './engines/spotify/spotify-engine.js';
import { createYoutubeEngine, type YoutubeSettings } from './engines/youtube/youtube-engine.js';
import {
  createYoutubeMusicEngine,
  type YoutubeMusicSettings,
} from './engines/youtube-music/youtube-music-engine.js';

/**
 * Options for {@link createDefaultEngines}. Each engine's settings can be given, or `false` to leave it out.
 * Keyed engines (Soundcharts, Groq, Gemini) are included only when their keys are configured; Odesli only
 * when `odesli` is set or `NEXSTREAM_ODESLI=1`.
 */
export interface DefaultEnginesOptions {
  /** Where env vars are read. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** One undici dispatcher shared by every HTTP engine (the engines then do not close it). */
  dispatcher?: Dispatcher;
  spotify?: SpotifySettings | false;
  deezer?: DeezerSettings | false;
  itunes?: ItunesSettings | false;
  musicbrainz?: MusicBrainzSettings | false;
  soundcharts?: SoundchartsSettings | false;
  /** Off by default: the public API is being retired (2026). `true` or settings turn it on. */
  odesli?: OdesliSettings | boolean;
  /**
   * YouTube Music through youtubei.js (InnerTube, in process): the race's song and video searches and its
   * ISRC search, with credits, album, result type and explicit badge. yt-dlp (`youtube`) still extracts the
   * winner's streams and searches as a fallback. `false` leaves it out.
   */
  youtubeMusic?: YoutubeMusicSettings | false;
  youtube?: YoutubeSettings | false;
  groq?: GroqSettings | false;
  gemini?: GeminiSettings | false;
}

/** The engines {@link createDefaultEngines} built, by kind, and a way to close them all. */
export interface EngineSet {
  /** Every engine, in the order above. */
  readonly engines: readonly Engine[];
  readonly metadata: readonly MetadataEngine[];
  readonly video: readonly VideoEngine[];
  readonly query: readonly QueryEngine[];
  /** Closes every engine (pools released, processes killed). */
  close(): Promise<void>;
}

/**
 * Builds the engines that can run with the configuration at hand: Spotify, Deezer, iTunes, MusicBrainz,
 * YouTube Music and YouTube (yt-dlp) always (no key needed); Soundcharts, Groq and Gemini when their keys are set; Odesli only on
 * request.
 */
export function createDefaultEngines(options: DefaultEnginesOptions = {}): EngineSet {
  const env = options.env ?? process.env;
  const shared = { env, ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}) };
  const settings = <T extends object>(value: T | boolean | undefined): T =>
    ({ ...shared, ...(typeof value === 'object' ? value : {}) }) as T;
  const engines: Engine[] = [];

  if (options.spotify !== false) engines.push(createSpotifyEngine(settings(options.spotify)));
  if (options.deezer !== false) engines.push(createDeezerEngine(settings(options.deezer)));
  if (options.itunes !== false) engines.push(createItunesEngine(settings(options.itunes)));
  if (options.musicbrainz !== false) engines.push(createMusicBrainzEngine(settings(options.musicbrainz)));
  if (options.soundcharts !== false) {
    const soundcharts = settings<SoundchartsSettings>(options.soundcharts);
    if (hasSoundchartsCredentials(soundcharts)) engines.push(createSoundchartsEngine(soundcharts));
  }
  const odesliOn = options.odesli === undefined ? env.NEXSTREAM_ODESLI === '1' : options.odesli !== false;
  if (odesliOn) engines.push(createOdesliEngine(settings(options.odesli)));
  if (options.youtubeMusic !== false) {
    engines.push(
      createYoutubeMusicEngine(typeof options.youtubeMusic === 'object' ? options.youtubeMusic : {}),
    );
  }
  if (options.youtube !== false) {
    engines.push(
      createYoutubeEngine({ env, ...(typeof options.youtube === 'object' ? options.youtube : {}) }),
    );
  }
  if (options.groq !== false) {
    const groq = settings<GroqSettings>(options.groq);
    if (credential(groq.apiKey, env, 'GROQ_API_KEY')) engines.push(createGroqEngine(groq));
  }
  if (options.gemini !== false) {
    const gemini = settings<GeminiSettings>(options.gemini);
    if (credential(gemini.apiKey, env, 'GEMINI_API_KEY')) engines.push(createGeminiEngine(gemini));
  }

  return {
    engines,
    metadata: engines.filter((engine): engine is MetadataEngine => engine.kind === 'metadata'),
    video: engines.filter((engine): engine is VideoEngine => engine.kind === 'video'),
    query: engines.filter((engine): engine is QueryEngine => engine.kind === 'query'),
    async close() {
      await Promise.allSettled(engines.map((engine) => engine.close()));
    },
  };
}
