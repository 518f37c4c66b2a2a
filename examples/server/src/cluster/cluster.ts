import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { type Broadcaster, createBroadcaster, type PlaylistStorage } from '@nexstream/hls-broadcaster';
import type { LibsqlPlaylistStorage } from '@nexstream/hls-broadcaster/libsql';
import type { ServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ChannelLease, LeaseStore } from './leases.js';

/** Where a request for a channel is answered: here, or at the owner. */
export type ChannelRoute =
  | { kind: 'local'; broadcaster: Broadcaster; token: number }
  | { kind: 'remote'; lease: ChannelLease };

/** A channel this instance holds the lease of and runs. */
interface OwnedChannel {
  token: number;
  /** A broadcaster that sees this channel only (see `activate`). */
  broadcaster: Broadcaster;
  /** Local monotonic time (ms) after which the channel is stopped unless a renewal succeeded first. */
  deadline: number;
  /** Responses being answered for the channel here (event streams, uploads): ended when the lease is lost. */
  responses: Set<ServerResponse>;
}

/** Options of {@link createCluster}. */
export interface ClusterOptions {
  config: ServerConfig;
  logger: Logger;
  leases: LeaseStore;
  /** This instance's id, also its owner name in the lease table. */
  instanceId: string;
  /** The broadcaster on the shared channels, used to list them only (never to run one). */
  directory: Broadcaster;
  /** The shared playlist storage (the cluster database), read for the channels' on-air flags. */
  playlists: PlaylistStorage;
  /**
   * The storage a channel run here writes its playlist through: that channel only, every write fenced with
   * the lease's token, so a deposed owner's late writes are refused.
   */
  openPlaylists: (channelId: string, token: number) => LibsqlPlaylistStorage;
  /** See {@link Cluster.peerToken}. */
  peerToken: string;
}

/** The multi-instance layer of the example server: channel leases, takeovers, and where to send a request. */
export interface Cluster {
  readonly instanceId: string;
  readonly instanceUrl: string;
  /** The token instances show each other on forwarded requests (see `proxy.ts`). */
  readonly peerToken: string;
  /** Claims the configured channels and the channels that were on air, then renews and takes over on a timer. */
  start(): Promise<void>;
  /**
   * Where the existing channel `channelId` is served: here when this instance holds its lease or can take it
   * (nobody holds it, or its holder's term expired), else at its owner.
   */
  route(channelId: string): Promise<ChannelRoute>;
  /**
   * Creates `channelId` owned here, or says where its owner is when another instance holds its lease.
   *
   * @throws NexStreamError `NXS_CONFLICT` over `maxChannels`; `NXS_INVALID_INPUT` for a malformed id.
   */
  create(channelId: string): Promise<ChannelRoute>;
  /** The broadcaster running `channelId` here, when this instance holds its lease. */
  local(channelId: string): Broadcaster | undefined;
  /** Registers a response being answered here for `channelId`; it is destroyed if the lease is lost. */
  track(channelId: string, response: ServerResponse): void;
  /** Every lease row of the cluster database. */
  leases(): Promise<ChannelLease[]>;
  /** The channels held here, with their fencing tokens. */
  owned(): Array<{ channelId: string; token: number }>;
  /** Forgets the cached owner of `channelId` (its owner did not answer). */
  forget(channelId: string): void;
  /**
   * Stops renewing and taking over, without releasing anything or stopping channels: what a frozen or killed
   * process looks like to the others. For tests; `close()` still stops the channels.
   */
  halt(): void;
  /** Graceful: stops the channels held here (each keeps its on-air intent and position), then releases their leases. */
  close(): Promise<void>;
}

const channelIdPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** How long a non-owner trusts what it read about another instance's lease, in ms. */
const ownerCacheMs = 1000;

/** A new instance id: the instance URL and a random suffix, so that a restarted process is a new owner. */
export function createInstanceId(instanceUrl: string): string {
  return `${instanceUrl}#${randomBytes(4).toString('hex')}`;
}

/**
 * Creates the cluster layer. Channels live in the shared `channelsDir`; the one instance holding a channel's
 * lease runs it through a broadcaster of its own that sees only that channel, created when the lease is
 * taken (so it reads the playlist as the previous owner left it) and closed when it is lost.
 *
 * Timings, for a lease of `ttl` (default 6 s): renewal every `ttl / 3`; the takeover scan every `ttl / 6`;
 * an owner whose renewals fail stops its channels at `ttl - ttl / 3` after its last good renewal, before the
 * lease can expire for the others: the database refuses its playlist writes once another owner claimed the
 * channel (decision 0116), but only this self-stop keeps two encoders from writing one HLS folder.
 */
export function createCluster(options: ClusterOptions): Cluster {
  const { config, logger, leases, instanceId, directory, playlists } = options;
  const instanceUrl = config.instanceUrl as string;
  const ttl = config.clusterLeaseMs;
  const renewEveryMs = Math.round(ttl / 3);
  const tickMs = Math.max(100, Math.round(ttl / 6));
  const margin = Math.round(ttl / 3);
  const owned = new Map<string, OwnedChannel>();
  const activating = new Map<string, Promise<ChannelRoute>>();
  const remote = new Map<string, { lease: ChannelLease; until: number }>();
  let timer: NodeJS.Timeout | undefined;
  let lastRenewal = 0;
  let halted = false;
  let closing = false;
  let ticking = false;

  /**
   * Runs `id` here under `lease`. The channel gets a broadcaster of its own on the shared channels folder,
   * whose playlist storage holds that channel only, fenced with the lease's token: with `resume` on, it starts
   * the channel again when the playlist says it was on air, at the recorded position after a graceful
   * handover and at the start of the current item after a crash (decision 0110), and it resumes no other
   * channel.
   */
  const activate = async (id: string, lease: ChannelLease, create: boolean): Promise<ChannelRoute> => {
    const leaseStarted = performance.now();
    const storage = options.openPlaylists(id, lease.token);
    // From here on the previous owner's writes are refused (it may still be running, paused or cut off).
    await storage.claim(id);
    const broadcaster = createBroadcaster({
      dataDir: config.channelsDir,
      playlists: storage,
      maxUploadBytes: config.maxUploadBytes,
      resume: true,
    });
    const entry: OwnedChannel = {
      token: lease.token,
      broadcaster,
      deadline: leaseStarted + ttl - margin,
      responses: new Set(),
    };
    owned.set(id, entry);
    remote.delete(id);
    try {
      if (create) await broadcaster.create(id);
      const resumed = await broadcaster.ready();
      const channel = broadcaster.get(id);
      await channel?.ready();
      // A playout write refused by the fence: a newer owner runs the channel, so this one lets go at once.
      channel?.on('error', ({ error }) => {
        const reason = (error.details as { reason?: string } | undefined)?.reason;
        if (reason === 'fenced' && owned.get(id) === entry)
          void deactivate(id, 'a newer owner wrote the playlist (fenced)', false);
      });
      logger.info('channel lease taken', {
        channelId: id,
        term: lease.token,
        resumed: resumed.includes(id),
      });
    } catch (error) {
      await deactivate(id, 'the channel could not be loaded', true);
      throw error;
    }
    return { kind: 'local', broadcaster, token: lease.token };
  };

  /** Stops running `id` here: its responses are cut, its channel stopped keeping its on-air intent. */
  const deactivate = async (id: string, reason: string, release: boolean): Promise<void> => {
    const entry = owned.get(id);
    if (!entry) return;
    owned.delete(id);
    for (const response of entry.responses) response.destroy();
    entry.responses.clear();
    await entry.broadcaster.close().catch((error: unknown) =>
      logger.warn('cluster: a channel did not stop cleanly', {
        channelId: id,
        message: (error as Error).message,
      }),
    );
    if (release) await leases.release(id, entry.token).catch(() => {});
    logger.info('channel lease given up', { channelId: id, term: entry.token, reason });
  };

  /** Takes `id` when its lease is free (or ours), once at a time per channel. */
  const claim = (id: string, create = false): Promise<ChannelRoute> => {
    const mine = owned.get(id);
    if (mine) return Promise.resolve({ kind: 'local', broadcaster: mine.broadcaster, token: mine.token });
    const pending = activating.get(id);
    if (pending) return pending;
    const attempt = (async (): Promise<ChannelRoute> => {
      const lease = await leases.acquire(id);
      if (lease) return activate(id, lease, create);
      const current = await leases.current(id);
      if (!current) {
        throw new NexStreamError(
          NexStreamErrorCode.Internal,
          `channel ${id}: the lease was neither taken nor found`,
        );
      }
      remote.set(id, { lease: current, until: performance.now() + ownerCacheMs });
      return { kind: 'remote', lease: current };
    })().finally(() => activating.delete(id));
    activating.set(id, attempt);
    return attempt;
  };

  const renew = async () => {
    const started = performance.now();
    await Promise.all(
      [...owned.entries()].map(async ([id, entry]) => {
        let lease: ChannelLease | undefined;
        try {
          lease = await leases.acquire(id);
        } catch (error) {
          logger.warn('cluster: a lease renewal failed', {
            channelId: id,
            message: (error as Error).message,
          });
          return;
        }
        if (owned.get(id) !== entry) return;
        if (lease && lease.token === entry.token) {
          entry.deadline = started + ttl - margin;
        } else if (lease) {
          // Our term had expired before this renewal started a new one: someone may have run it meanwhile.
          await deactivate(id, 'the lease expired before it was renewed', false);
          await activate(id, lease, false).catch((error: unknown) =>
            logger.warn('cluster: a channel could not be taken again', {
              channelId: id,
              message: (error as Error).message,
            }),
          );
        } else {
          await deactivate(id, 'another instance holds the lease', false);
        }
      }),
    );
  };

  const takeOver = async () => {
    const expired = await leases.expired();
    for (const id of expired) {
      if (owned.has(id) || activating.has(id) || !(await directory.exists(id))) continue;
      await claim(id).catch((error: unknown) =>
        logger.warn('cluster: a takeover failed', { channelId: id, message: (error as Error).message }),
      );
    }
  };

  const tick = async () => {
    if (ticking || halted || closing) return;
    ticking = true;
    try {
      const now = performance.now();
      for (const [id, entry] of owned) {
        if (now > entry.deadline) await deactivate(id, 'the lease could not be renewed in time', false);
      }
      if (now - lastRenewal >= renewEveryMs - tickMs / 2) {
        lastRenewal = now;
        await renew();
      }
      await takeOver();
    } catch (error) {
      logger.warn('cluster: a lease check failed', { message: (error as Error).message });
    } finally {
      ticking = false;
    }
  };

  return {
    instanceId,
    instanceUrl,
    peerToken: options.peerToken,
    local: (id) => owned.get(id)?.broadcaster,
    leases: () => leases.list(),
    async start() {
      const onAir = (await playlists.list()).filter((channel) => channel.onAir).map((channel) => channel.id);
      for (const id of new Set([...config.channels, ...onAir])) {
        await claim(id, !(await directory.exists(id))).catch((error: unknown) =>
          logger.warn('cluster: a channel could not be claimed at start', {
            channelId: id,
            message: (error as Error).message,
          }),
        );
      }
      await takeOver().catch(() => {});
      lastRenewal = performance.now();
      timer = setInterval(() => void tick(), tickMs);
      logger.info('cluster mode', {
        instanceId,
        leaseMs: ttl,
        owned: [...owned.keys()],
      });
    },
    async route(id) {
      const mine = owned.get(id);
      if (mine) return { kind: 'local', broadcaster: mine.broadcaster, token: mine.token };
      const known = remote.get(id);
      if (known && known.until > performance.now() && !activating.has(id))
        return { kind: 'remote', lease: known.lease };
      if (halted || closing) {
        const current = await leases.current(id);
        if (current) return { kind: 'remote', lease: current };
      }
      return claim(id);
    },
    async create(id) {
      if (!channelIdPattern.test(id)) {
        throw new NexStreamError(
          NexStreamErrorCode.InvalidInput,
          `invalid channel id ${JSON.stringify(String(id).slice(0, 80))}: use 1-64 letters, digits, "-" or "_"`,
        );
      }
      if (await directory.exists(id)) return this.route(id);
      const existing = await directory.ids();
      if (existing.length >= config.maxChannels) {
        throw new NexStreamError(
          NexStreamErrorCode.Conflict,
          `cannot create channel ${id}: the cluster already has ${existing.length} channels (maxChannels ${config.maxChannels}); remove one or raise maxChannels`,
          { retryable: false, details: { reason: 'max-channels', maxChannels: config.maxChannels } },
        );
      }
      return claim(id, true);
    },
    track(id, response) {
      const entry = owned.get(id);
      if (!entry) return;
      entry.responses.add(response);
      response.once('close', () => entry.responses.delete(response));
    },
    owned: () => [...owned.entries()].map(([channelId, entry]) => ({ channelId, token: entry.token })),
    forget: (id) => void remote.delete(id),
    halt() {
      halted = true;
      if (timer) clearInterval(timer);
    },
    async close() {
      closing = true;
      if (timer) clearInterval(timer);
      await Promise.all([...activating.values()].map((pending) => pending.catch(() => undefined)));
      await Promise.all([...owned.keys()].map((id) => deactivate(id, 'shutdown', !halted)));
    },
  };
}
