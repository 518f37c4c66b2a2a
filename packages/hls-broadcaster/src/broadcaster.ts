import { join, resolve } from 'node:path';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { type Channel, createChannel } from './channel.js';
import { defaultMaxUploadBytes } from './ingest.js';
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
  /** Replaces the ffprobe-based upload check. */
  prober?: Prober;
  /** Largest accepted upload in bytes. Default 2 GiB. */
  maxUploadBytes?: number;
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
}

/** Many channels in one process, with no global state: create as many broadcasters as you like. */
export interface Broadcaster {
  /** The channel with this id, created (and its playlist loaded) on first use. */
  channel(id: string): Channel;
  /** The channels created so far. */
  channels(): Channel[];
  /** Stops every channel. */
  close(): Promise<void>;
}

const channelIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Creates a broadcaster rooted at `dataDir`.
 *
 * @example
 * ```ts
 * const broadcaster = createBroadcaster({ dataDir: './data' });
 * const channel = broadcaster.channel('main');
 * await channel.ingest(createReadStream('clip.mp4'), { originalName: 'clip.mp4' });
 * await channel.start(); // HLS at ./data/channels/main/hls/index.m3u8
 * ```
 */
export function createBroadcaster(options: BroadcasterOptions): Broadcaster {
  const root = resolve(options.dataDir);
  const prober =
    options.prober ??
    createFfprobeProber({
      ...(options.ffprobePath ? { ffprobePath: options.ffprobePath } : {}),
      ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
    });
  const channels = new Map<string, Channel>();
  return {
    channel(id) {
      if (!channelIdPattern.test(id)) {
        throw new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          `invalid channel id ${JSON.stringify(id)}: use 1-64 letters, digits, "-" or "_"`,
        );
      }
      let channel = channels.get(id);
      if (!channel) {
        channel = createChannel({
          id,
          directory: join(root, 'channels', id),
          profile: resolveProfile({ ...options.profile, ...options.profiles?.[id] }),
          prober,
          maxUploadBytes: options.maxUploadBytes ?? defaultMaxUploadBytes,
          ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
          ...(options.slateImagePath ? { slateImagePath: options.slateImagePath } : {}),
          failureBackoffMs: options.failureBackoffMs ?? 15_000,
          pacing: options.pacing ?? 'relay',
          slateChunkMs: 10_000,
        });
        channels.set(id, channel);
      }
      return channel;
    },
    channels: () => [...channels.values()],
    async close() {
      await Promise.all([...channels.values()].map((channel) => channel.stop()));
    },
  };
}
