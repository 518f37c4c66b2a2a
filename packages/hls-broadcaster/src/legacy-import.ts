import { randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { NexStreamError, NexStreamErrorCode, toNexStreamError } from '@nexstream/core';
import type { PlaylistItem } from './playlist-document.js';

// insta-stream, the app this package replaces, kept its playlist as JSON next to the uploads: this reads it
// and brings its files over. Not part of the package's public entry.

/** One item as insta-stream stored it (`playlist.json` of the original app). */
export interface InstaStreamItem {
  id: string;
  filename: string;
  originalName: string;
  /** Absolute path of the uploaded file on the old server. */
  path: string;
  /** Size in bytes. */
  size: number;
  /** Duration in seconds (a float, from ffprobe). */
  duration: number;
  /** ISO 8601 or epoch milliseconds. */
  addedAt: string | number;
}

/**
 * Reads insta-stream's item list (an array, or `{ playlist: [...] }` / `{ items: [...] }`), checking each
 * field. The files themselves are re-ingested (copied and probed) by {@link Channel.importInstaStream}.
 *
 * @throws NexStreamError `NXS_INVALID_INPUT` naming the first bad item and field.
 */
export function parseInstaStreamItems(data: unknown): InstaStreamItem[] {
  const list = Array.isArray(data)
    ? data
    : typeof data === 'object' && data !== null
      ? ((data as { playlist?: unknown; items?: unknown }).playlist ?? (data as { items?: unknown }).items)
      : undefined;
  if (!Array.isArray(list)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      'insta-stream import: expected an array of items (or { playlist: [...] })',
    );
  }
  return list.map((raw, index) => {
    const where = `insta-stream import: item ${index}`;
    if (typeof raw !== 'object' || raw === null) {
      throw new NexStreamError(NexStreamErrorCode.InvalidInput, `${where} is not an object`);
    }
    const item = raw as Record<string, unknown>;
    for (const field of ['filename', 'path'] as const) {
      if (typeof item[field] !== 'string' || (item[field] as string).length === 0) {
        throw new NexStreamError(NexStreamErrorCode.InvalidInput, `${where}: "${field}" must be a string`);
      }
    }
    const size = Number(item.size ?? 0);
    const duration = Number(item.duration ?? 0);
    return {
      id: typeof item.id === 'string' && item.id.length > 0 ? item.id : randomUUID(),
      filename: item.filename as string,
      originalName: typeof item.originalName === 'string' ? item.originalName : (item.filename as string),
      path: item.path as string,
      size: Number.isFinite(size) ? size : 0,
      duration: Number.isFinite(duration) ? duration : 0,
      addedAt:
        typeof item.addedAt === 'string' || typeof item.addedAt === 'number'
          ? item.addedAt
          : new Date().toISOString(),
    };
  });
}

/** What {@link importInstaStream} needs from the channel. */
export interface LegacyImportTarget {
  /** Stores one file (copy and probe), as an upload would. */
  ingest(source: Readable, originalName: string): Promise<PlaylistItem>;
  /** Appends the imported items to the playlist in one change. */
  addMany(items: readonly PlaylistItem[]): Promise<unknown>;
}

/**
 * Re-ingests the items of an insta-stream playlist (copying and probing each file from its old path) and
 * appends the ones that worked; returns what failed, with the reason.
 */
export async function importInstaStream(
  data: unknown,
  target: LegacyImportTarget,
): Promise<{ imported: PlaylistItem[]; failed: { id: string; reason: string }[] }> {
  const entries = parseInstaStreamItems(data);
  const imported: PlaylistItem[] = [];
  const failed: { id: string; reason: string }[] = [];
  for (const entry of entries) {
    try {
      const handle = await open(entry.path, 'r');
      const item = await target
        .ingest(handle.createReadStream(), entry.originalName)
        .finally(() => handle.close().catch(() => undefined));
      const addedAt = new Date(entry.addedAt);
      imported.push({
        ...item,
        addedAt: Number.isNaN(addedAt.getTime()) ? item.addedAt : addedAt.toISOString(),
      });
    } catch (error) {
      failed.push({ id: entry.id, reason: toNexStreamError(error).message });
    }
  }
  if (imported.length > 0) await target.addMany(imported);
  return { imported, failed };
}
