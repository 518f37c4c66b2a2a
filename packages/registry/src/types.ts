import type { MediaFormat, Platform } from '@nexstream/core';
import type { RegistryMedia, RegistryTrack, Verification, VerifiedMatch } from './verified-match.js';

/** `T` with every property, at every depth, read-only: entries are shared with the read cache, never copied. */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly (infer Item)[]
    ? readonly DeepReadonly<Item>[]
    : T extends object
      ? { readonly [Key in keyof T]: DeepReadonly<T[Key]> }
      : T;

/**
 * What to look a mapping up by: the ISRC, a platform's id for the track (any id the registry was given for it),
 * or the media id (`youtube:<video id>`).
 */
export type RegistryKey = { isrc: string } | { platform: Platform; id: string } | { mediaId: string };

/** The state of a mapping's volatile links. */
export interface LinkState {
  /** When the links stop working, epoch milliseconds; `undefined` when unknown or dropped. */
  expiresAt: number | undefined;
  /** When the links were last written (by a put or a successful refresh), epoch milliseconds. */
  refreshedAt: number;
  /** Refresh failures since the last success. */
  refreshFailures: number;
  /** The links were dropped (by {@link Registry.dropLink} or too many failed refreshes); `media.formats` is empty. */
  dropped: boolean;
}

/**
 * One mapping as a look-up returns it: the track (with its platform ids), the verified media with its current
 * links (`media.formats`), the links' state and the verification evidence. Read-only and shared: copy before
 * changing anything.
 */
export interface RegistryEntry {
  readonly track: DeepReadonly<RegistryTrack>;
  readonly media: DeepReadonly<RegistryMedia>;
  readonly link: Readonly<LinkState>;
  readonly verification: Readonly<Verification>;
  /** When the match was verified, epoch milliseconds. */
  readonly verifiedAt: number;
}

/** A media whose links expire soon, as {@link Registry.dueForRefresh} lists it. */
export interface DueLink {
  /** The media id, e.g. `youtube:dQw4w9WgXcQ`. */
  mediaId: string;
  /** The page to re-extract the formats from (the watch URL). */
  pageUrl: string;
  /** When the current links stop working, epoch milliseconds (may be in the past). */
  expiresAt: number;
  /** Refresh failures since the last success. */
  refreshFailures: number;
}

/** The result of a refresh attempt, given to {@link Registry.recordRefresh}. */
export type RefreshOutcome =
  | {
      ok: true;
      /** The freshly extracted formats (links). */
      formats: readonly MediaFormat[];
      /** When they stop working, epoch milliseconds; defaults to the earliest `expiresAt` among the formats. */
      expiresAt?: number;
    }
  | {
      ok: false;
      /** Why the refresh failed, for logs and `stats()`. */
      reason: string;
    };

/** What {@link Registry.recordRefresh} did. */
export interface RefreshRecord {
  /** Failures since the last success (0 after a success). */
  refreshFailures: number;
  /** True when this failure was the last allowed one and the links were dropped. */
  dropped: boolean;
}

/** Counts and sizes from {@link Registry.stats}. */
export interface RegistryStats {
  /** Mappings (ISRCs) stored. */
  tracks: number;
  /** Distinct media stored. */
  media: number;
  /** Platform ids known (several per track are possible). */
  platformIds: number;
  /** Media by link state: live (not expired), expired (not yet refreshed), dropped. */
  links: { live: number; expired: number; dropped: number };
  /** The database's size in bytes (pages × page size). */
  databaseSizeBytes: number;
  /** The schema version (`PRAGMA user_version`). */
  schemaVersion: number;
  /** The read cache of this process. */
  cache: { entries: number; hits: number; misses: number };
  /** The write queue of this process. */
  writes: { pending: number; completed: number; failed: number; busyRetries: number };
}

/** Options shared by the Node and browser `createRegistry`. */
export interface RegistryConnectionOptions {
  /**
   * The database: `libsql://…` (Turso), `https://…` / `http://…` (sqld, Hrana over HTTP), `wss://…` / `ws://…`
   * (Hrana over WebSocket, lower latency), or in Node `file:…` (embedded) and `:memory:` (tests).
   */
  url?: string;
  /** Auth token for Turso / sqld (also used for `syncUrl`). */
  authToken?: string;
  /**
   * Makes a `file:` database an embedded replica of this remote database: reads are local, writes go to the
   * remote, and the replica syncs every `syncInterval` seconds. Node only.
   */
  syncUrl?: string;
  /** Seconds between background syncs of an embedded replica (libSQL's unit). Off when absent. */
  syncInterval?: number;
  /**
   * How long a write keeps retrying while another process holds the database's write lock, in milliseconds.
   * Waits asynchronously (the event loop keeps running). Default 5000.
   */
  busyTimeoutMs?: number;
  /**
   * The read cache: at most `maxEntries` look-ups (default 10,000) for at most `ttlMs` (default 30,000 ms, which
   * bounds how stale a mapping written by another process can be). `false` turns it off.
   */
  cache?: { maxEntries?: number; ttlMs?: number } | false;
  /** A link that failed to refresh this many times in a row is dropped (default 3). */
  maxRefreshFailures?: number;
  /** The clock, epoch milliseconds (tests inject one). Default `Date.now`. */
  now?: () => number;
}

/**
 * The registry of verified mappings: "Spotify track X = ISRC Y = YouTube video Z", the track's metadata and the
 * media's volatile links with their expiry. Created by `createRegistry`.
 *
 * Every write goes through one in-process queue; reads are served from a small LRU cache when hot.
 * Errors are `NexStreamError`s: `NXS_UNVERIFIED_MATCH` (a write of an unverified match; nothing written),
 * `NXS_INVALID_INPUT` (a bad key or option), `NXS_NOT_FOUND` (a refresh for unknown media), `NXS_REGISTRY`
 * (the database failed, is locked for longer than `busyTimeoutMs`, or the registry is closed).
 */
export interface Registry {
  /** The database URL, without credentials. */
  readonly url: string;
  /**
   * Looks a mapping up by ISRC, platform id or media id. One call returns the track, its platform ids and the
   * media with its current links; `undefined` when the registry has no mapping for the key.
   */
  get(key: RegistryKey): Promise<RegistryEntry | undefined>;
  /** Stores one verified match (insert or update by ISRC; writing the same match twice changes nothing else). */
  put(match: VerifiedMatch): Promise<void>;
  /**
   * Stores many verified matches in one transaction (for the seeder): all or nothing. Every match is checked
   * before anything is written.
   */
  putMany(matches: readonly VerifiedMatch[]): Promise<void>;
  /** Media whose links expire within `within` milliseconds from now (or already have), soonest first. */
  dueForRefresh(options: { within: number; limit?: number }): Promise<DueLink[]>;
  /**
   * Records a refresh attempt for a media: new links on success (failures reset to 0), else one more failure;
   * the failure that reaches `maxRefreshFailures` drops the links.
   *
   * @throws NexStreamError `NXS_NOT_FOUND` when no mapping uses this media.
   */
  recordRefresh(mediaId: string, outcome: RefreshOutcome): Promise<RefreshRecord>;
  /** Drops a media's links (the mapping stays); returns false when no mapping uses this media. */
  dropLink(mediaId: string, options?: { reason?: string }): Promise<boolean>;
  /** Counts, database size, cache and write-queue figures. */
  stats(): Promise<RegistryStats>;
  /** Finishes queued writes, then closes the database. Later calls fail with `NXS_REGISTRY`. Safe to call twice. */
  close(): Promise<void>;
}
