import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/** A per-IP limit: at most `limit` requests in any `windowMs` window. */
export interface RateLimitSetting {
  limit: number;
  windowMs: number;
}

/** Everything the server reads from its environment, with the embedded defaults filled in. */
export interface ServerConfig {
  /** TCP port; 0 picks a free one. `PORT` / `NEXSTREAM_PORT`, default 8080. */
  port: number;
  /** Interface to listen on. `NEXSTREAM_HOST`, default `127.0.0.1` (use `0.0.0.0` in a container). */
  host: string;
  /** Where the registry file, the tunnel secret and the channels live. `NEXSTREAM_DATA_DIR`, default `./.nexstream-data`. */
  dataDir: string;
  /** libSQL URL of the registry. `NEXSTREAM_REGISTRY_URL`, default `file:<dataDir>/registry.db`. */
  registryUrl?: string;
  /** Turso / sqld token. `NEXSTREAM_REGISTRY_AUTH_TOKEN`. */
  registryAuthToken?: string;
  /** Primary of an embedded replica. `NEXSTREAM_REGISTRY_SYNC_URL`. */
  registrySyncUrl?: string;
  /** HMAC key of tunnel tokens (≥ 32 bytes). `NEXSTREAM_TUNNEL_SECRET`; default a random one kept in `<dataDir>/tunnel-secret`. */
  tunnelSecret?: string;
  /** Lifetime of minted tunnel URLs, in ms. `NEXSTREAM_TUNNEL_TTL_MS`, default 3 600 000. */
  tunnelTtlMs: number;
  /** Hosts the tunnel may fetch media from. `NEXSTREAM_MEDIA_HOSTS` (comma-separated), default `*.googlevideo.com`. */
  mediaHosts: string[];
  /** Optional key for mutating and expensive routes (`Authorization: Bearer <key>` or `X-Api-Key`). `NEXSTREAM_API_KEY`. */
  apiKey?: string;
  /** Start the offline world (replay server + media origin) instead of the real services. `NEXSTREAM_FIXTURES=1`. */
  fixtures: boolean;
  /** The built web app. `NEXSTREAM_WEB_DIR`, default `examples/web/dist`. */
  webDir: string;
  /** The edge muxer's browser files (`worker.js`, `sw.js`). `NEXSTREAM_EDGE_MUXER_DIR`, default its `dist/browser`. */
  edgeMuxerDir?: string;
  /** Per-IP rate limits. `NEXSTREAM_RATE_<NAME>` as `<limit>/<seconds>s`, e.g. `30/60s`. */
  rateLimits: Record<'resolve' | 'seed' | 'mux' | 'tunnel', RateLimitSetting>;
  /** Express `trust proxy` (behind a load balancer). `NEXSTREAM_TRUST_PROXY`: `true`, a hop count or a subnet list. */
  trustProxy?: boolean | number | string;
  /** Largest channel upload, in bytes. `NEXSTREAM_MAX_UPLOAD_MB`, default 2048. */
  maxUploadBytes: number;
  /** Largest JSON body, in bytes. `NEXSTREAM_MAX_JSON_KB`, default 64. */
  maxJsonBytes: number;
  /**
   * Host names (the `Host` header, without its port) answered besides `localhost`, `127.0.0.1` and `[::1]`:
   * `NEXSTREAM_ALLOWED_HOSTS`, comma-separated; `.example.com` also allows its subdomains; `*` allows any.
   * A loopback-bound server answers only those names (no DNS rebinding); a server bound elsewhere checks
   * them when the list is set.
   */
  allowedHosts: string[];
  /**
   * Other sites' origins (`https://app.example.com`) whose pages may call the changing routes (uploads,
   * channel control, resolve, seed, plan). `NEXSTREAM_ALLOWED_ORIGINS`, comma-separated; default none.
   */
  allowedOrigins: string[];
  /** Channels created at start (`NEXSTREAM_CHANNELS`, comma-separated, default `main`; empty for none). */
  channels: string[];
  /** Most channels the server holds. `NEXSTREAM_MAX_CHANNELS`, default 100. */
  maxChannels: number;
  /** An upload body that sends nothing for this long is aborted, in ms. `NEXSTREAM_UPLOAD_IDLE_MS`, default 30 000. */
  uploadIdleTimeoutMs: number;
  /** Uploads one client (IP) may run at once. `NEXSTREAM_MAX_UPLOADS_PER_CLIENT`, default 2. */
  maxUploadsPerClient: number;
  /** Open channel event streams per client (IP). `NEXSTREAM_MAX_EVENT_STREAMS_PER_CLIENT`, default 10. */
  maxEventStreamsPerClient: number;
  /** Open event streams per channel. `NEXSTREAM_MAX_EVENT_STREAMS_PER_CHANNEL`, default 100. */
  maxEventStreamsPerChannel: number;
  /** Estimates under this go to the browser muxer, in bytes. `NEXSTREAM_EDGE_THRESHOLD_MB`, default 400. */
  edgeThresholdBytes: number;
  /** How long a resolution outlives its closed SSE stream, waiting for a reconnect, in ms. `NEXSTREAM_RESOLVE_GRACE_MS`, default 0. */
  resolveGraceMs: number;
  /** SSE heartbeat interval, in ms. `NEXSTREAM_HEARTBEAT_MS`, default 15 000. */
  heartbeatMs: number;
  /** Log threshold. `NEXSTREAM_LOG_LEVEL`: `debug`, `info` (default), `warn`, `error`, `silent`. */
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** How long shutdown waits for open streams before closing them, in ms. `NEXSTREAM_SHUTDOWN_MS`, default 10 000. */
  shutdownTimeoutMs: number;
  /**
   * Where the broadcaster keeps the channels (`<channelsDir>/channels/<id>/`: uploads, HLS output) and, outside
   * cluster mode, their playlists (`<channelsDir>/channels.db`; in cluster mode the cluster database holds
   * them). `NEXSTREAM_CHANNELS_DIR`, default `<dataDir>`. Several instances share one (a network file system).
   */
  channelsDir: string;
  /**
   * The cluster's lease and playlist database (libSQL: `file:…` on a shared disk, `http://`/`ws://` sqld, `libsql://`
   * Turso). `NEXSTREAM_CLUSTER_URL`. With {@link ServerConfig.instanceUrl} it turns on cluster mode: one
   * instance owns each channel and the others proxy to it (decision 0113). Unset: one instance, as before.
   */
  clusterUrl?: string;
  /** Token of the cluster database. `NEXSTREAM_CLUSTER_AUTH_TOKEN`. */
  clusterAuthToken?: string;
  /**
   * This instance's base URL as the other instances reach it (`http://10.0.0.5:8080`), stored as the owner
   * URL of the channels it owns. `NEXSTREAM_INSTANCE_URL`.
   */
  instanceUrl?: string;
  /** Lifetime of a channel lease, in ms; renewed every third of it. `NEXSTREAM_CLUSTER_LEASE_MS`, default 6000. */
  clusterLeaseMs: number;
  /** Environment handed to the engines (their keys: `SPOTIFY_CLIENT_ID`, `GROQ_API_KEY`, …). */
  engineEnv: Record<string, string | undefined>;
}

const defaultRateLimits: ServerConfig['rateLimits'] = {
  resolve: { limit: 30, windowMs: 60_000 },
  seed: { limit: 5, windowMs: 60_000 },
  mux: { limit: 20, windowMs: 60_000 },
  // The browser muxer reads inputs in bitrate-sized windows: many small range requests per download.
  tunnel: { limit: 3000, windowMs: 60_000 },
};

function invalid(name: string, value: string, expected: string): NexStreamError {
  return new NexStreamError(
    NexStreamErrorCode.InvalidInput,
    `${name}=${JSON.stringify(value)}: expected ${expected}`,
  );
}

function integer(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(name, raw, 'a whole number >= 0');
  return value;
}

function rateLimit(
  env: Record<string, string | undefined>,
  name: string,
  fallback: RateLimitSetting,
): RateLimitSetting {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const match = /^(\d+)\s*\/\s*(\d+)\s*s$/.exec(raw);
  if (!match) throw invalid(name, raw, '"<requests>/<seconds>s", e.g. 30/60s');
  return { limit: Number(match[1]), windowMs: Number(match[2]) * 1000 };
}

/** A comma-separated setting as a list (empty entries dropped). */
function list(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

function trustProxy(raw: string | undefined): ServerConfig['trustProxy'] {
  if (!raw?.trim()) return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

/**
 * Reads the server's configuration from environment variables (every one is documented in `.env.example`).
 * Nothing is required: the defaults run an embedded registry file and a random tunnel secret in `./.nexstream-data`.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` naming the variable whose value cannot be read.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): ServerConfig {
  const dataDir = resolve(env.NEXSTREAM_DATA_DIR?.trim() || '.nexstream-data');
  const logLevel = (env.NEXSTREAM_LOG_LEVEL?.trim() || 'info') as ServerConfig['logLevel'];
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    throw invalid('NEXSTREAM_LOG_LEVEL', logLevel, 'debug, info, warn, error or silent');
  }
  const config: ServerConfig = {
    port: integer(env, env.NEXSTREAM_PORT ? 'NEXSTREAM_PORT' : 'PORT', 8080),
    host: env.NEXSTREAM_HOST?.trim() || '127.0.0.1',
    dataDir,
    tunnelTtlMs: integer(env, 'NEXSTREAM_TUNNEL_TTL_MS', 3_600_000),
    mediaHosts: list(env.NEXSTREAM_MEDIA_HOSTS?.trim() || '*.googlevideo.com'),
    fixtures: env.NEXSTREAM_FIXTURES === '1' || env.NEXSTREAM_FIXTURES === 'true',
    webDir: resolve(
      env.NEXSTREAM_WEB_DIR?.trim() || fileURLToPath(new URL('../../web/dist', import.meta.url)),
    ),
    rateLimits: {
      resolve: rateLimit(env, 'NEXSTREAM_RATE_RESOLVE', defaultRateLimits.resolve),
      seed: rateLimit(env, 'NEXSTREAM_RATE_SEED', defaultRateLimits.seed),
      mux: rateLimit(env, 'NEXSTREAM_RATE_MUX', defaultRateLimits.mux),
      tunnel: rateLimit(env, 'NEXSTREAM_RATE_TUNNEL', defaultRateLimits.tunnel),
    },
    maxUploadBytes: integer(env, 'NEXSTREAM_MAX_UPLOAD_MB', 2048) * 1024 * 1024,
    maxJsonBytes: integer(env, 'NEXSTREAM_MAX_JSON_KB', 64) * 1024,
    allowedHosts: list(env.NEXSTREAM_ALLOWED_HOSTS).map((host) => host.toLowerCase()),
    allowedOrigins: list(env.NEXSTREAM_ALLOWED_ORIGINS).map((origin) => origin.replace(/\/+$/, '')),
    channels: env.NEXSTREAM_CHANNELS === undefined ? ['main'] : list(env.NEXSTREAM_CHANNELS),
    maxChannels: integer(env, 'NEXSTREAM_MAX_CHANNELS', 100),
    uploadIdleTimeoutMs: integer(env, 'NEXSTREAM_UPLOAD_IDLE_MS', 30_000),
    maxUploadsPerClient: integer(env, 'NEXSTREAM_MAX_UPLOADS_PER_CLIENT', 2),
    maxEventStreamsPerClient: integer(env, 'NEXSTREAM_MAX_EVENT_STREAMS_PER_CLIENT', 10),
    maxEventStreamsPerChannel: integer(env, 'NEXSTREAM_MAX_EVENT_STREAMS_PER_CHANNEL', 100),
    edgeThresholdBytes: integer(env, 'NEXSTREAM_EDGE_THRESHOLD_MB', 400) * 1_000_000,
    resolveGraceMs: integer(env, 'NEXSTREAM_RESOLVE_GRACE_MS', 0),
    heartbeatMs: integer(env, 'NEXSTREAM_HEARTBEAT_MS', 15_000),
    logLevel,
    shutdownTimeoutMs: integer(env, 'NEXSTREAM_SHUTDOWN_MS', 10_000),
    channelsDir: resolve(env.NEXSTREAM_CHANNELS_DIR?.trim() || dataDir),
    clusterLeaseMs: integer(env, 'NEXSTREAM_CLUSTER_LEASE_MS', 6000),
    engineEnv: env,
  };
  const optional = {
    registryUrl: env.NEXSTREAM_REGISTRY_URL,
    registryAuthToken: env.NEXSTREAM_REGISTRY_AUTH_TOKEN,
    registrySyncUrl: env.NEXSTREAM_REGISTRY_SYNC_URL,
    tunnelSecret: env.NEXSTREAM_TUNNEL_SECRET,
    apiKey: env.NEXSTREAM_API_KEY,
    edgeMuxerDir: env.NEXSTREAM_EDGE_MUXER_DIR,
    clusterUrl: env.NEXSTREAM_CLUSTER_URL,
    clusterAuthToken: env.NEXSTREAM_CLUSTER_AUTH_TOKEN,
    instanceUrl: env.NEXSTREAM_INSTANCE_URL?.replace(/\/+$/, ''),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value?.trim()) (config as unknown as Record<string, string>)[key] = value.trim();
  }
  for (const origin of config.allowedOrigins) {
    let parsed: string | undefined;
    try {
      parsed = new URL(origin).origin;
    } catch {
      parsed = undefined;
    }
    if (parsed !== origin) {
      throw invalid('NEXSTREAM_ALLOWED_ORIGINS', origin, 'origins such as https://app.example.com (no path)');
    }
  }
  if (config.instanceUrl && !/^https?:\/\/[^/]+$/.test(config.instanceUrl)) {
    throw invalid(
      'NEXSTREAM_INSTANCE_URL',
      config.instanceUrl,
      'a base URL such as http://10.0.0.5:8080 (no path)',
    );
  }
  if (config.clusterLeaseMs < 1000) {
    throw invalid('NEXSTREAM_CLUSTER_LEASE_MS', String(config.clusterLeaseMs), 'at least 1000');
  }
  const proxy = trustProxy(env.NEXSTREAM_TRUST_PROXY);
  if (proxy !== undefined) config.trustProxy = proxy;
  return config;
}
