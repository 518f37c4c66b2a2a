import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { locateProgram } from '@nexstream/core/node';
import { type DecoderSource, normalizeForCopy } from './decoder.js';
import type { PlaylistItem } from './playlist.js';
import type { PlayoutEntry } from './playout-loop.js';
import type { ChannelProfile } from './profile.js';

/** Options for {@link createPlayoutSources}. */
export interface PlayoutSourcesOptions {
  /** The channel's folder (the normalized slate of copy playout is kept there). */
  directory: string;
  /** The channel's stored items. */
  mediaDirectory: string;
  profile: ChannelProfile;
  allowedContainers: readonly string[];
  ffmpegPath?: string;
  slateImagePath?: string;
  /** Slate chunk length (each chunk is a bounded decoder). */
  slateChunkMs: number;
}

/**
 * What each decoder reads: a stored item from a position, or a chunk of slate. In copy playout
 * (`profile.playout === 'copy'`), items and the slate are converted once to the channel's profile so the
 * encoder only copies them.
 */
export interface PlayoutSources {
  /** True in copy playout. */
  readonly copy: boolean;
  /** The decoder input for an entry of the playout. */
  sourceFor(entry: PlayoutEntry): DecoderSource;
  /** Copy playout: writes the normalized slate once (kept across starts). */
  prepare(ffmpegPath: string): Promise<void>;
  /** Copy playout: converts a stored item once to the channel's profile and replaces its file. */
  normalizeItem(item: PlaylistItem): Promise<PlaylistItem>;
}

/** Creates the sources of one channel. */
export function createPlayoutSources(options: PlayoutSourcesOptions): PlayoutSources {
  const { profile, mediaDirectory } = options;
  const copy = profile.playout === 'copy';
  const { width, height, fps, segmentDurationS } = profile;
  const slateCopyPath = join(options.directory, `slate-${width}x${height}-${fps}-${segmentDurationS}.ts`);
  const slateSource = (): Extract<DecoderSource, { kind: 'slate' }> => ({
    kind: 'slate',
    durationMs: options.slateChunkMs,
    ...(options.slateImagePath ? { imagePath: options.slateImagePath } : {}),
  });

  return {
    copy,
    sourceFor(entry) {
      if (entry.kind === 'slate') return copy ? { ...slateSource(), copyPath: slateCopyPath } : slateSource();
      const copied = copy && entry.item.filename.endsWith('.copy.ts');
      return {
        kind: 'item',
        path: join(mediaDirectory, entry.item.filename),
        startMs: entry.startMs,
        durationMs: Math.max(entry.item.durationMs - entry.startMs, 40),
        hasAudio: copied || entry.item.probe.audioChannels > 0,
        allowedContainers: options.allowedContainers,
        ...(copied ? { copy: copied } : {}),
      };
    },
    async prepare(ffmpegPath) {
      if (!copy || (await stat(slateCopyPath).catch(() => undefined))) return;
      await normalizeForCopy(ffmpegPath, slateSource(), profile, `${slateCopyPath}.tmp`);
      await rename(`${slateCopyPath}.tmp`, slateCopyPath);
    },
    async normalizeItem(item) {
      const ffmpeg = (await locateProgram('ffmpeg', { path: options.ffmpegPath })).path;
      const filename = `${item.id}.copy.ts`;
      const output = join(mediaDirectory, filename);
      try {
        const durationMs = await normalizeForCopy(
          ffmpeg,
          {
            kind: 'item',
            path: join(mediaDirectory, item.filename),
            startMs: 0,
            durationMs: item.durationMs,
            hasAudio: item.probe.audioChannels > 0,
            allowedContainers: options.allowedContainers,
          },
          profile,
          output,
        );
        await rm(join(mediaDirectory, item.filename), { force: true });
        return { ...item, filename, durationMs, sizeBytes: (await stat(output)).size };
      } catch (error) {
        await rm(output, { force: true });
        await rm(join(mediaDirectory, item.filename), { force: true });
        throw error;
      }
    },
  };
}
