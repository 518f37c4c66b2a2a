import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { type Channel, createChannel } from './channel.js';
import { defaultMaxUploadBytes } from './ingest.js';
import { resolveAllowedContainers } from './media-input.js';
import { createFfprobeProber, type Prober } from './prober.js';
import { type ChannelProfile, resolveProfile } from './profile.js';

/** Options for {@link createBroadcaster}. */
export interface BroadcasterOptions {
  /** Root folder; each channel lives in `<dataDir>/channels/<id>/` (playlist.json, media/, hls/, tmp/). */
  dataDir: string;
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
   * Most channels this broadcaster holds (on disk and in memory together); {@link Broadcaster.create} and
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
   * Start again, at once, every channel found on disk whose playlist says it was on air (started and not
   * stopped by a user; see `PlayoutState`), at the item and position a shutdown recorded. {@link Broadcaster.ready}
   * resolves once they are loaded and started. Default true: a channel is 24/7 across server restarts.
   */
  resume?: boolean;
}

/**
 * Many channels in one process, with no global state: create as many broadcasters as you like.
 *
 * A channel exists once it was created ({@link Broadcaster.create}, or {@link Broadcaster.channel}) in this
 * process or an earlier run: its folder holds `playlist.json`. Request handlers look channels up with
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
   * The channel `id` when it exists: created in this process, or found on disk from an earlier run
   * (`<dataDir>/channels/<id>/playlist.json`). Never creates a folder; `undefined` for an unknown or
   * malformed id.
   */
  get(id: string): Channel | undefined;
  /** Whether the channel `id` exists (see {@link Broadcaster.get}), without loading it. */
  has(id: string): boolean;
  /** The ids of every existing channel, on disk or in memory, sorted. */
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
   * next start tries again); this never rejects. Resolves with the ids of the channels it started.
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
 * Creates a broadcaster rooted at `dataDir`. Channels found on disk (from an earlier run) are loaded on
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
  let creating: Promise<unknown> = Promise.resolve();

  const playlistPath = (id: string) => join(channelsDirectory, id, 'playlist.json');
  const existsOnDisk = (id: string) => channelIdPattern.test(id) && existsSync(playlistPath(id));

  const load = (id: string): Channel => {
    const channel = createChannel({
      id,
      directory: join(channelsDirectory, id),
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
    const known = channels.get(id);
    if (known) return known;
    return existsOnDisk(id) ? load(id) : undefined;
  };

  const checkId = (id: string) => {
    if (!channelIdPattern.test(id)) {
      throw new NexStreamError(
        NexStreamErrorCode.InvalidInput,
        `invalid channel id ${JSON.stringify(String(id).slice(0, 80))}: use 1-64 letters, digits, "-" or "_"`,
      );
    }
  };

  const checkRoom = (id: string, onDisk: readonly string[]) => {
    const existing = new Set([...onDisk, ...channels.keys()]);
    if (existing.size >= maxChannels) {
      throw new NexStreamError(
        NexStreamErrorCode.Conflict,
        `cannot create channel ${id}: this server already has ${existing.size} channels (maxChannels ${maxChannels}); remove one or raise maxChannels`,
        { retryable: false, details: { reason: 'max-channels', maxChannels } },
      );
    }
  };

  const diskIds = async (): Promise<string[]> => {
    const names = await readdir(channelsDirectory).catch(() => [] as string[]);
    const found = await Promise.all(
      names.map(async (name) =>
        channelIdPattern.test(name) && (await stat(playlistPath(name)).catch(() => undefined))?.isFile()
          ? name
          : undefined,
      ),
    );
    return found.filter((name): name is string => name !== undefined);
  };

  const diskIdsSync = (): string[] => {
    let names: string[];
    try {
      names = readdirSync(channelsDirectory);
    } catch {
      return [];
    }
    return names.filter((name) => existsOnDisk(name));
  };

  // Channels that were on air are loaded now: loading one that says so starts it again.
  const resumedIds = options.resume === false ? [] : diskIdsSync().filter((id) => wasOnAir(playlistPath(id)));
  const resumedChannels = resumedIds.map((id) => load(id));
  const ready = Promise.all(
    resumedChannels.map((channel) =>
      channel.ready().then(
        () => (channel.status().state === 'stopped' ? undefined : channel.id),
        () => undefined,
      ),
    ),
  ).then((ids) => ids.filter((id): id is string => id !== undefined));

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
        checkRoom(id, await diskIds());
        // Loading writes the folder and the empty playlist file; the next `get()` finds it on disk.
        const channel = get(id) ?? load(id);
        try {
          await channel.ready();
        } catch (error) {
          if (channels.get(id) === channel) channels.delete(id);
          throw error;
        }
        return channel;
      });
      creating = result.catch(() => undefined);
      return result;
    },
    get,
    has: (id) => channels.has(id) || existsOnDisk(id),
    async ids() {
      return [...new Set([...(await diskIds()), ...channels.keys()])].sort();
    },
    channel(id) {
      checkId(id);
      const existing = get(id);
      if (existing) return existing;
      checkRoom(id, diskIdsSync());
      return load(id);
    },
    channels: () => [...channels.values()],
    async close() {
      await ready;
      await Promise.all([...channels.values()].map((channel) => channel.stop({ keepOnAir: true })));
    },
  };
}

/** Whether the playlist file at `path` says its channel was on air (read synchronously; small JSON). */
function wasOnAir(path: string): boolean {
  try {
    const document = JSON.parse(readFileSync(path, 'utf8')) as { playout?: { onAir?: unknown } };
    return document.playout?.onAir === true;
  } catch {
    return false;
  }
}
