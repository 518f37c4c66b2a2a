import { join, resolve } from 'node:path';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { type Channel, createChannel } from './channel.js';
import { defaultMaxUploadBytes } from './ingest.js';
import { resolveAllowedContainers } from './media-input.js';
import { createFilePlaylistStorage, type PlaylistStorage, type StoredChannel } from './playlist-store.js';
import { createFfprobeProber, type Prober } from './prober.js';
import { type ChannelProfile, resolveProfile } from './profile.js';

/** Options for {@link createBroadcaster}. */
export interface BroadcasterOptions {
  /**
   * Root folder; each channel lives in `<dataDir>/channels/<id>/` (media/, hls/, tmp/, and playlist.json with
   * the file storage).
   */
  dataDir: string;
  /**
   * Where the channels' playlists (and on-air state) are kept. Default: JSON files in the channel folders
   * ({@link createFilePlaylistStorage}). `createLibsqlPlaylistStorage()` from `@nexstream/hls-broadcaster/libsql`
   * keeps them in libSQL: a database file, or sqld / Turso shared by several instances, with fencing.
   * With a storage that cannot answer synchronously (libSQL), await {@link Broadcaster.ready} before
   * {@link Broadcaster.get}: it lists the stored channels.
   */
  playlists?: PlaylistStorage;
  /** Output format of every channel (default 720p30, 2 s segments, 10 in the window). */
  profile?: Partial<ChannelProfile>;
  /** Per-channel profile overrides, by channel id. */
  profiles?: Record<string, Partial<ChannelProfile>>;
  /** ffmpeg path (else `NEXSTREAM_FFMPEG`, else PATH). */
  ffmpegPath?: string;
  /** ffprobe path for the default prober (else `NEXSTREAM_FFPROBE`, else PATH). */
  ffprobePath?: string;
  /** Replaces the ffprobe-based upload check (the container allow-list is still applied to its result). */
  prober?: Prober;
  /** Largest accepted upload in bytes. Default 2 GiB. */
  maxUploadBytes?: number;
  /**
   * The demuxers uploads may use and stored files are read with (ffprobe `format_name` parts, ffmpeg
   * `-format_whitelist`). Default {@link defaultAllowedContainers}. Demuxers that open other files or URLs
   * (`hls`, `concat`, `dash`, `imf`, `lavfi`, `image2`…) are refused with `NXS_INVALID_INPUT`.
   */
  allowedContainers?: readonly string[];
  /**
   * Most channels this broadcaster holds (stored and in memory together); {@link Broadcaster.create} and
   * {@link Broadcaster.channel} refuse more with `NXS_CONFLICT`. Default 100.
   */
  maxChannels?: number;
  /** An image shown while paused or when nothing is playable; a generated card when absent. */
  slateImagePath?: string;
  /** How long to show the slate after every item failed, before trying again, in milliseconds. Default 15 000. */
  failureBackoffMs?: number;
  /**
   * Who paces the stream at real time. `relay` (default): the Node relay, from the video timestamps, with a
   * one-segment burst after a start or an encoder restart (first segment in ~1 s, players ride through
   * crashes). `encoder`: ffmpeg's `-re` (no burst; first segment after ~2.3 s).
   */
  pacing?: 'relay' | 'encoder';
  /**
   * Start again, at once, every stored channel whose playlist says it was on air (started and not
   * stopped by a user; see `PlayoutState`), at the item and position a shutdown recorded. {@link Broadcaster.ready}
   * resolves once they are loaded and started. Default true: a channel is 24/7 across server restarts.
   */
  resume?: boolean;
}

/**
 * Many channels in one process, with no global state: create as many broadcasters as you like.
 *
 * A channel exists once it was created ({@link Broadcaster.create}, or {@link Broadcaster.channel}) in this
 * process or an earlier run: its playlist is stored (see {@link BroadcasterOptions.playlists}). Request handlers look channels up with
 * {@link Broadcaster.get}, which never creates one, so a client cannot make folders by naming ids.
 */
export interface Broadcaster {
  /**
   * Creates the channel `id` (its folder and an empty persisted playlist) and resolves once it is loaded;
   * resolves with the existing channel when it already exists. Calls are serialized, so the cap is exact.
   *
   * @throws NexStreamError `NXS_INVALID_INPUT` for an id that is not 1-64 letters, digits, `-` or `_`;
   *   `NXS_CONFLICT` (`details: { reason: 'max-channels', maxChannels }`) when `maxChannels` channels exist.
   */
  create(id: string): Promise<Channel>;
  /**
   * The channel `id` when it exists: created in this process, or stored by an earlier run (with the file
   * storage, `<dataDir>/channels/<id>/playlist.json`). Never creates a folder; `undefined` for an unknown or
   * malformed id.
   */
  get(id: string): Channel | undefined;
  /**
   * Whether the channel `id` exists (see {@link Broadcaster.get}), without loading it. With a storage that has no
   * synchronous look-up (libSQL), this knows the channels listed by `ready()`/`ids()` and those created here:
   * use {@link Broadcaster.exists} to see channels that other instances created since.
   */
  has(id: string): boolean;
  /**
   * Whether the channel `id` exists, asking the storage when this broadcaster does not know it yet (a channel
   * another instance created on a shared database). Never creates anything; `false` for a malformed id.
   */
  exists(id: string): Promise<boolean>;
  /** The ids of every existing channel, stored or in memory, sorted. */
  ids(): Promise<string[]>;
  /**
   * Get or create, for programmatic use: the channel `id`, created (folder and empty playlist written while
   * it loads) when it does not exist yet, subject to `maxChannels`. Never hand it ids from clients; use
   * {@link Broadcaster.get} in request handlers.
   *
   * @throws NexStreamError `NXS_INVALID_INPUT` for a malformed id; `NXS_CONFLICT` over `maxChannels`.
   */
  channel(id: string): Channel;
  /** The channels loaded in this process so far. */
  channels(): Channel[];
  /**
   * Resolves once the channels that were on air when the server last stopped are loaded and started again
   * (see {@link BroadcasterOptions.resume}), so their status is right from the first request. A channel
   * that cannot start reports it on its `error` event and stays stopped (and on air in its playlist, so the
   * next start tries again). Resolves with the ids of the channels it started; rejects only when the playlist
   * storage cannot be listed (a database that cannot be reached).
   */
  ready(): Promise<string[]>;
  /**
   * Stops every channel for a shutdown: each keeps its on-air intent and records its item and position, so
   * a broadcaster created later on the same `dataDir` resumes them (a user's `channel.stop()` does not).
   */
  close(): Promise<void>;
}

/** Default {@link BroadcasterOptions.maxChannels}. */
export const defaultMaxChannels = 100;

const channelIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Creates a broadcaster rooted at `dataDir`. Channels stored by an earlier run are loaded on
 * first {@link Broadcaster.get}, with their playlists, so a restart carries on.
 *
 * @example
 * ```ts
 * const broadcaster = createBroadcaster({ dataDir: './data' });
 * const channel = await broadcaster.create('main');
 * await channel.ingest(createReadStream('clip.mp4'), { originalName: 'clip.mp4' });
 * await channel.start(); // HLS at ./data/channels/main/hls/index.m3u8
 * ```
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` for a bad `allowedContainers` or `maxChannels`.
 */
export function createBroadcaster(options: BroadcasterOptions): Broadcaster {
  const root = resolve(options.dataDir);
  const channelsDirectory = join(root, 'channels');
  const allowedContainers = resolveAllowedContainers(options.allowedContainers);
  const maxChannels = options.maxChannels ?? defaultMaxChannels;
  if (!Number.isInteger(maxChannels) || maxChannels < 1) {
    throw new NexStreamError(NexStreamErrorCode.InvalidInput, 'maxChannels must be a positive integer');
  }
  const prober =
    options.prober ??
    createFfprobeProber({
      ...(options.ffprobePath ? { ffprobePath: options.ffprobePath } : {}),
      ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
      allowedContainers,
    });
  const channels = new Map<string, Channel>();
  const storage = options.playlists ?? createFilePlaylistStorage(root);
  // Channels the storage listed or this broadcaster created: what `get()` knows of a storage without `has()`.
  const known = new Set<string>();
  let creating: Promise<unknown> = Promise.resolve();

  const stored = (id: string) => channelIdPattern.test(id) && (storage.has ? storage.has(id) : known.has(id));

  const load = (id: string, listedOnAir?: boolean): Channel => {
    const channel = createChannel({
      id,
      directory: join(channelsDirectory, id),
      store: storage.open(id),
      ...(listedOnAir === undefined ? {} : { listedOnAir }),
      profile: resolveProfile({ ...options.profile, ...options.profiles?.[id] }),
      prober,
      maxUploadBytes: options.maxUploadBytes ?? defaultMaxUploadBytes,
      allowedContainers,
      ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
      ...(options.slateImagePath ? { slateImagePath: options.slateImagePath } : {}),
      failureBackoffMs: options.failureBackoffMs ?? 15_000,
      pacing: options.pacing ?? 'relay',
      slateChunkMs: 10_000,
      resumeOnAir: options.resume !== false,
    });
    channels.set(id, channel);
    return channel;
  };

  const get = (id: string): Channel | undefined => {
    const loaded = channels.get(id);
    if (loaded) return loaded;
    return stored(id) ? load(id) : undefined;
  };

  const checkId = (id: string) => {
    if (!channelIdPattern.test(id)) {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        `invalid channel id ${JSON.stringify(String(id).slice(0, 80))}: use 1-64 letters, digits, "-" or "_"`,
      );
    }
  };

  const checkRoom = (id: string, storedIds: readonly string[]) => {
    const existing = new Set([...storedIds, ...channels.keys()]);
    if (existing.size >= maxChannels) {
      throw new NexStreamError(
        NexStreamErrorCode.Conflict,
        `cannot create channel ${id}: this server already has ${existing.size} channels (maxChannels ${maxChannels}); remove one or raise maxChannels`,
        { retryable: false, details: { reason: 'max-channels', maxChannels } },
      );
    }
  };

  const list = async (): Promise<StoredChannel[]> => {
    const listed = await storage.list();
    for (const channel of listed) known.add(channel.id);
    return listed;
  };

  // Channels that were on air are loaded now: loading one that says so starts it again.
  const ready = (async () => {
    const listed = await list();
    if (options.resume === false) return [];
    const resumed = listed
      .filter((channel) => channel.onAir)
      .map((channel) => channels.get(channel.id) ?? load(channel.id, true));
    const started = await Promise.all(
      resumed.map((channel) =>
        channel.ready().then(
          () => (channel.status().state === 'stopped' ? undefined : channel.id),
          () => undefined,
        ),
      ),
    );
    return started.filter((id): id is string => id !== undefined);
  })();
  // Rejects only when the storage cannot be listed; `close()` waits for it either way.
  const settled = ready.catch(() => [] as string[]);

  return {
    ready: () => ready,
    create(id) {
      const result = creating.then(async () => {
        checkId(id);
        const existing = get(id);
        if (existing) {
          await existing.ready();
          return existing;
        }
        checkRoom(
          id,
          (await list()).map((channel) => channel.id),
        );
        // Loading stores the empty playlist; from then on the channel exists for every `get()`.
        const channel = get(id) ?? load(id);
        try {
          await channel.ready();
        } catch (error) {
          if (channels.get(id) === channel) channels.delete(id);
          throw error;
        }
        known.add(id);
        return channel;
      });
      creating = result.catch(() => undefined);
      return result;
    },
    get,
    has: (id) => channels.has(id) || stored(id),
    async exists(id) {
      if (channels.has(id) || stored(id)) return true;
      if (!channelIdPattern.test(id) || storage.has) return false;
      return (await list()).some((channel) => channel.id === id);
    },
    async ids() {
      return [...new Set([...(await list()).map((channel) => channel.id), ...channels.keys()])].sort();
    },
    channel(id) {
      checkId(id);
      const existing = get(id);
      if (existing) return existing;
      checkRoom(id, storage.idsSync?.() ?? [...known]);
      known.add(id);
      return load(id);
    },
    channels: () => [...channels.values()],
    async close() {
      await settled;
      await Promise.all([...channels.values()].map((channel) => channel.stop({ keepOnAir: true })));
    },
  };
}
