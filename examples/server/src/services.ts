import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import {
  createTunnel,
  locateProgram,
  type ProgramFreshness,
  programFreshness,
  type Tunnel,
  type TunnelTarget,
} from '@nexstream/core/node';
import { type Broadcaster, createBroadcaster } from '@nexstream/hls-broadcaster';
import { createLibsqlPlaylistStorage, importPlaylistFiles } from '@nexstream/hls-broadcaster/libsql';
import { createRegistry, type Registry } from '@nexstream/registry';
import { createDefaultEngines, createResolver, type EngineSet, type Resolver } from '@nexstream/resolver';
import { type Cluster, createCluster, createInstanceId } from './cluster/cluster.js';
import { createLeaseStore } from './cluster/leases.js';
import { clusterToken } from './cluster/proxy.js';
import type { ServerConfig } from './config.js';
import { type FixtureWorld, startFixtureWorld } from './fixtures.js';
import type { Logger } from './logger.js';
import { downloadName, formatContentType } from './media-files.js';

/** Everything the routes use, built once per server. */
export interface Services {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly engines: EngineSet;
  readonly resolver: Resolver;
  readonly tunnel: Tunnel;
  /**
   * The channels (playlists in libSQL). In cluster mode this one only lists the shared channels; each channel
   * this instance owns runs in a broadcaster of its own ({@link Cluster.local}).
   */
  readonly broadcaster: Broadcaster;
  /**
   * Cluster mode (`NEXSTREAM_CLUSTER_URL` and `NEXSTREAM_INSTANCE_URL` set): channel leases and forwarding to
   * their owners. Started by `startServer` once the server listens.
   */
  readonly cluster?: Cluster;
  /** The offline world, in fixtures mode. */
  readonly fixtures?: FixtureWorld;
  /** A random value the server sends on requests to itself (the server muxer reading the tunnel), exempt from rate limits. */
  readonly internalToken: string;
  /**
   * The yt-dlp found at start, with its age and how to update it (`/api/health` shows it); `undefined` when
   * it is missing (resolving reports that when used).
   */
  readonly ytDlp?: { version: string; releaseDate?: string } & ProgramFreshness;
  /** Closes everything, in dependency order. */
  close(): Promise<void>;
}

async function tunnelSecret(config: ServerConfig): Promise<string> {
  if (config.tunnelSecret) return config.tunnelSecret;
  const path = join(config.dataDir, 'tunnel-secret');
  const existing = await readFile(path, 'utf8').catch(() => '');
  if (existing.trim().length >= 43) return existing.trim();
  const secret = randomBytes(32).toString('base64url');
  await writeFile(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/**
 * Builds the services: the registry (embedded file by default), the engines (real services, or the fixture
 * world), the resolver, the tunnel (signed tokens; origins from the resolver's media handles), and the broadcaster.
 */
export async function createServices(config: ServerConfig, logger: Logger): Promise<Services> {
  await mkdir(config.dataDir, { recursive: true });
  const fixtures = config.fixtures ? await startFixtureWorld({ dataDir: config.dataDir }) : undefined;
  const closers: Array<() => Promise<unknown>> = [];
  try {
    if (fixtures) {
      closers.unshift(() => fixtures.close());
      logger.info('fixtures mode: offline replay server and media origin', {
        replay: fixtures.replayUrl,
        origin: fixtures.originUrl,
        tryLink: fixtures.spotifyTrackLink,
      });
    }
    const registry = await createRegistry({
      dataDirectory: config.dataDir,
      ...(config.registryUrl ? { url: config.registryUrl } : {}),
      ...(config.registryAuthToken ? { authToken: config.registryAuthToken } : {}),
      ...(config.registrySyncUrl ? { syncUrl: config.registrySyncUrl } : {}),
    });
    closers.unshift(() => registry.close());
    const engines = createDefaultEngines(fixtures ? fixtures.engines : { env: config.engineEnv });
    closers.unshift(() => engines.close());
    const resolver = createResolver({
      engines,
      registry,
      ...(fixtures ? { timings: fixtures.timings } : {}),
      onLog: (event) => logger.debug(event.message, { source: event.source, level: event.level }),
    });
    closers.unshift(() => resolver.close());
    // Where a format's bytes are, and fresh links after a 403: the resolver's handle of the media (its recent
    // resolutions, verified or not, then the registry). Clients only ever see the public media.
    const target = async (mediaId: string, formatId: string): Promise<TunnelTarget> => {
      const handle = await resolver.media(mediaId);
      const origin = handle.origin(formatId);
      return {
        url: origin.url,
        ...(origin.headers ? { headers: origin.headers } : {}),
        ...(origin.sizeBytes ? { sizeBytes: origin.sizeBytes } : {}),
        contentType: formatContentType(origin.format),
        filename: downloadName(handle, origin.format.container),
      };
    };
    const secret = await tunnelSecret(config);
    const tunnel = createTunnel({
      secret,
      allowedHosts: fixtures ? fixtures.mediaHosts : config.mediaHosts,
      allowLoopback: Boolean(fixtures),
      lookupMedia: (mediaId, formatId) => target(mediaId, formatId),
      async refresh(mediaId, formatId, { signal }) {
        logger.info('tunnel: origin refused the link, refreshing', { mediaId, formatId });
        await (await resolver.media(mediaId)).refresh({ signal });
        return target(mediaId, formatId);
      },
      onEvent(event) {
        if (event.type === 'error')
          logger.warn('tunnel error', { code: event.error.code, message: event.error.message });
        else logger.debug(`tunnel ${event.type}`, { mediaId: event.mediaId, formatId: event.formatId });
      },
    });
    closers.unshift(() => tunnel.close());
    const clustered = Boolean(config.clusterUrl && config.instanceUrl);
    // Playlists and on-air state live in libSQL: the cluster database when clustered, else a file beside the
    // channels (docs/decisions/0116). One client serves this listing and every channel run here.
    const playlistsClient = createClient(
      clustered
        ? {
            url: config.clusterUrl as string,
            ...(config.clusterAuthToken ? { authToken: config.clusterAuthToken } : {}),
          }
        : { url: `file:${join(config.channelsDir, 'channels.db')}` },
    );
    closers.unshift(async () => playlistsClient.close());
    await mkdir(config.channelsDir, { recursive: true });
    const playlists = createLibsqlPlaylistStorage({ client: playlistsClient });
    // A data folder from before: its playlist.json files move into the database, once (each file is kept).
    const imported = await importPlaylistFiles(config.channelsDir, playlists);
    if (imported.imported.length > 0)
      logger.info('channel playlists moved into the database', { channels: imported.imported });
    const broadcaster = createBroadcaster({
      dataDir: config.channelsDir,
      playlists,
      maxUploadBytes: config.maxUploadBytes,
      maxChannels: config.maxChannels,
      // In cluster mode the lease holder resumes a channel, not every instance that sees the folder.
      ...(clustered ? { resume: false } : {}),
    });
    closers.unshift(() => broadcaster.close());
    let cluster: Cluster | undefined;
    if (clustered) {
      const instanceUrl = config.instanceUrl as string;
      const instanceId = createInstanceId(instanceUrl);
      const leases = await createLeaseStore({
        url: config.clusterUrl as string,
        ...(config.clusterAuthToken ? { authToken: config.clusterAuthToken } : {}),
        owner: instanceId,
        ownerUrl: instanceUrl,
        ttlMs: config.clusterLeaseMs,
      });
      closers.unshift(async () => leases.close());
      const created = createCluster({
        config,
        logger,
        leases,
        instanceId,
        directory: broadcaster,
        playlists,
        openPlaylists: (channelId, token) =>
          createLibsqlPlaylistStorage({
            client: playlistsClient,
            channelIds: [channelId],
            fence: () => token,
          }),
        peerToken: clusterToken(secret),
      });
      cluster = created;
      closers.unshift(() => created.close());
    } else {
      // The configured channels exist from the start (and come back after a restart); others only when created.
      for (const id of config.channels) await broadcaster.create(id);
      // Channels that were on air when the server stopped are on air again before the first request.
      const resumed = await broadcaster.ready();
      if (resumed.length > 0) logger.info('channels back on air after the restart', { channels: resumed });
      for (const channel of broadcaster.channels()) {
        const { onAir, state } = channel.status();
        if (onAir && state === 'stopped')
          logger.warn('a channel that was on air could not start again', { channelId: channel.id });
      }
    }

    // yt-dlp releases go stale within weeks (YouTube changes): say so at start, never refuse to start.
    const ytDlp = await locateProgram('yt-dlp', { env: config.engineEnv }).then(
      (program) => ({
        version: program.version,
        ...(program.releaseDate ? { releaseDate: program.releaseDate } : {}),
        ...programFreshness(program),
      }),
      () => undefined,
    );
    if (ytDlp?.stale) logger.warn('yt-dlp is out of date', { message: ytDlp.warning });

    let closed: Promise<void> | undefined;
    return {
      ...(ytDlp ? { ytDlp } : {}),
      config,
      logger,
      registry,
      engines,
      resolver,
      tunnel,
      broadcaster,
      ...(cluster ? { cluster } : {}),
      ...(fixtures ? { fixtures } : {}),
      internalToken: randomBytes(24).toString('base64url'),
      close() {
        closed ??= (async () => {
          for (const close of closers) {
            await close().catch((error: unknown) =>
              logger.warn('shutdown: a service did not close cleanly', { message: (error as Error).message }),
            );
          }
        })();
        return closed;
      },
    };
  } catch (error) {
    for (const close of closers) await close().catch(() => {});
    throw NexStreamError.is(error)
      ? error
      : new NexStreamError(
          NexStreamErrorCode.Internal,
          `the server could not start: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
  }
}
