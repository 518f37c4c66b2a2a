// The persisted shapes of a playlist, apart from the playlist logic (playlist.ts) and its file store
// (playlist-store.ts), which both read them: neither imports the other's implementation.

/** What ffprobe found in an item, kept so the channel can plan its decoder without probing again. */
export interface MediaProbe {
  /** Container format name(s) as ffprobe reports them, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  container: string;
  /** Duration in milliseconds. */
  durationMs: number;
  /** Video codec name (`h264`, `vp9`…). */
  videoCodec: string;
  /** Coded width in pixels. */
  width: number;
  /** Coded height in pixels. */
  height: number;
  /** Frames per second (average frame rate). */
  fps: number;
  /** Audio codec name, or `undefined` for a silent video. */
  audioCodec?: string;
  /** Audio channel count, or 0 when there is no audio. */
  audioChannels: number;
  /** Audio sample rate in hertz, or 0 when there is no audio. */
  audioSampleRateHz: number;
}

/** One video in a channel's playlist. */
export interface PlaylistItem {
  /** Stable id (a UUID), used by every API that names an item. */
  id: string;
  /** The generated name of the stored file inside the channel's media folder (never the client's name). */
  filename: string;
  /** The name the uploader gave, for display only (never used as a path). */
  originalName: string;
  /** Stored file size in bytes. */
  sizeBytes: number;
  /** Playable duration in milliseconds (from the probe). */
  durationMs: number;
  /** The probe's findings. */
  probe: MediaProbe;
  /** When the item was added, ISO 8601. */
  addedAt: string;
}

/** The persisted shape of a playlist (version 1). */
export interface PlaylistDocument {
  /** Schema version of this document; readers refuse versions they do not know. */
  version: 1;
  items: PlaylistItem[];
  /** The item that is playing or will play next when the channel starts; `null` for an empty playlist. */
  currentId: string | null;
  /** Whether playback wraps around from the last item to the first (default true). */
  loop: boolean;
  /**
   * Bumped by one on every edit (add, import, remove, move, reorder, clear, jump, loop), never by playout
   * (the channel moving on to the next item, the on-air intent): edits can name the revision they were made
   * against (`expectedRevision`, HTTP `If-Match`) and are refused with `NXS_CONFLICT` when it moved on.
   */
  revision: number;
  /** Time of the last change, ISO 8601. */
  updatedAt: string;
  /**
   * Whether the channel is meant to be on air, and where it was: absent (older files) means off air. A
   * broadcaster created on this folder starts a channel whose playlist says `onAir` again (see
   * `BroadcasterOptions.resume`).
   */
  playout?: PlayoutState;
}

/**
 * The on-air intent of a channel, persisted with its playlist so a server restart carries on: `start()` sets
 * `onAir`, a user's `stop()` clears it, and a shutdown (`Broadcaster.close()`) keeps it and records where the
 * channel was.
 */
export interface PlayoutState {
  /** True from `start()` until a user's `stop()`: the channel is started again when the server starts. */
  onAir: boolean;
  /**
   * Where a graceful shutdown left the channel: the item and the position reached in it, in milliseconds,
   * and whether it was paused there (it then comes back paused, on the slate). A crash (no shutdown) leaves
   * none; the channel then resumes at the start of the current item.
   */
  resumeAt?: { itemId: string; positionMs: number; paused?: boolean };
  /** When this was written, ISO 8601. */
  updatedAt: string;
}

/** A new, empty playlist document. */
export function emptyPlaylistDocument(now: Date = new Date()): PlaylistDocument {
  return { version: 1, items: [], currentId: null, loop: true, revision: 0, updatedAt: now.toISOString() };
}
