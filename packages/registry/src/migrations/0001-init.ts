/**
 * Migration 1: the mapping table (one row per ISRC: the track, its verified media and the media's current
 * links) and the platform-id index (every platform id ever seen for an ISRC, for look-ups by link).
 *
 * One wide row per mapping, rather than separate track / media / link tables, keeps a look-up to one B-tree
 * probe and a batch insert to few B-tree writes (docs/decisions/0031). Nested data (artists, cover art,
 * formats) is JSON text; timestamps are epoch milliseconds; durations are milliseconds.
 */
export const migration0001Init: readonly string[] = [
  `CREATE TABLE mapping (
    isrc TEXT PRIMARY KEY,
    duration_ms INTEGER NOT NULL,
    track TEXT NOT NULL,
    media_id TEXT NOT NULL,
    media TEXT NOT NULL,
    formats TEXT,
    expires_at INTEGER,
    refreshed_at INTEGER NOT NULL,
    refresh_failures INTEGER NOT NULL DEFAULT 0,
    last_failure TEXT,
    verification_method TEXT NOT NULL,
    isrc_source TEXT NOT NULL,
    verified_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT`,
  'CREATE INDEX mapping_media_id ON mapping (media_id)',
  'CREATE INDEX mapping_expires_at ON mapping (expires_at) WHERE formats IS NOT NULL',
  `CREATE TABLE platform_id (
    platform TEXT NOT NULL,
    id TEXT NOT NULL,
    isrc TEXT NOT NULL,
    PRIMARY KEY (platform, id)
  ) STRICT, WITHOUT ROWID`,
];
