import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { ChannelLifecycle } from './channel-lifecycle.js';
import {
  createRunId,
  type Encoder,
  type EncoderStats,
  encoderArguments,
  isNormalEncoderExit,
  startEncoder,
} from './encoder.js';
import type { ChannelProfile } from './profile.js';
import { type ProgramSchedule, parseMediaPlaylist } from './program-schedule.js';
import type { Relay } from './relay.js';

/** What the supervisor reports; the channel turns these into its events. */
export interface EncoderSupervisorEvents {
  stats(stats: EncoderStats): void;
  restarted(event: { exitCode?: number; signal?: string; restarts: number; reason: string }): void;
  /** The schedule's stream times became known (the run's first segment was written). */
  scheduleAnchored(): void;
  error(error: unknown): void;
  /**
   * The encoder crashed and is about to be replaced: call `respawn` (which starts the new encoder, appending
   * to the live playlist) and put the playout back on air.
   */
  crashed(respawn: () => Promise<void>): Promise<void>;
}

/** Options for {@link createEncoderSupervisor}. */
export interface EncoderSupervisorOptions {
  channelId: string;
  profile: ChannelProfile;
  lifecycle: ChannelLifecycle;
  relay: Relay;
  schedule: ProgramSchedule;
  hlsDirectory: string;
  /** The live playlist's file name (the master playlist with a ladder). */
  playlistName: string;
  /** The media playlist whose segments anchor the schedule (the first variant with a ladder). */
  mediaPlaylistName: string;
  /** True when the relay paces the input (the encoder then runs without `-re`). */
  pacedInput: boolean;
  ffmpegPath: () => string;
  on: EncoderSupervisorEvents;
}

/**
 * The channel's one long-running encoder: starts it on the relay, reads its `-progress` feed, and restarts it
 * after a crash, appending to the same playlist (one discontinuity). More than five crashes in 30 s wait
 * 5 s before the next restart.
 */
export interface EncoderSupervisor {
  readonly encoder: Encoder | undefined;
  readonly restarts: number;
  readonly lastStats: EncoderStats | undefined;
  /**
   * Starts an encoder run: on an empty HLS folder, or with `continuePlaylist` after the previous run of the
   * same folder (a server restart, another instance taking the channel over): ffmpeg appends to its
   * playlist, the media sequence goes on and players see one discontinuity instead of a new stream.
   */
  start(options?: { continuePlaylist?: boolean }): Promise<void>;
  /** Stops the encoder gracefully; resolves once it exited. */
  stop(): Promise<void>;
}

/** Creates the supervisor of one channel's encoder. */
export function createEncoderSupervisor(options: EncoderSupervisorOptions): EncoderSupervisor {
  const { lifecycle, relay, schedule, hlsDirectory, on } = options;
  let encoder: Encoder | undefined;
  let restarts = 0;
  let run = 0;
  const crashTimes: number[] = [];
  let lastStats: EncoderStats | undefined;
  let scheduleWatcher: NodeJS.Timeout | undefined;
  const mediaPlaylistPath = join(hlsDirectory, options.mediaPlaylistName);

  /** Reads the live playlist until the current encoder run's first segment anchors its entries in time. */
  const watchSchedule = () => {
    if (scheduleWatcher) return;
    scheduleWatcher = setInterval(() => {
      if (!schedule.waiting || lifecycle.winding) {
        clearInterval(scheduleWatcher);
        scheduleWatcher = undefined;
        return;
      }
      void readFile(mediaPlaylistPath, 'utf8').then(
        (text) => {
          if (schedule.observePlaylist(text)) on.scheduleAnchored();
        },
        () => undefined,
      );
    }, 200);
    scheduleWatcher.unref();
  };

  /** The highest media sequence number in the live playlist, or -1 when there is none. */
  const lastSegmentSequence = async (): Promise<number> => {
    const text = await readFile(mediaPlaylistPath, 'utf8').catch(() => '');
    return parseMediaPlaylist(text).at(-1)?.sequence ?? -1;
  };

  const spawn = (append: boolean, lastSequence: number) => {
    schedule.beginRun(lastSequence);
    const next = startEncoder(
      options.ffmpegPath(),
      encoderArguments(options.profile, {
        hlsDirectory,
        append,
        playlistName: options.playlistName,
        pacedInput: options.pacedInput,
        // A new name prefix for every run, crash restarts included: segment names are never reused.
        runId: createRunId(),
      }),
      (stats) => {
        // A last progress block can arrive while stopping: a stopped channel shows no encoder speed.
        if (encoder !== next || lifecycle.winding) return;
        lastStats = stats;
        on.stats(stats);
      },
    );
    watchSchedule();
    encoder = next;
    relay.resetClock();
    relay.attach(next.stdin);
    const runAtSpawn = run;
    next.closed.then((exit) => {
      if (encoder !== next || runAtSpawn !== run) return;
      if (lifecycle.winding || isNormalEncoderExit(exit)) return;
      restarts += 1;
      const now = Date.now();
      crashTimes.push(now);
      while (crashTimes.length > 0 && (crashTimes[0] as number) < now - 30_000) crashTimes.shift();
      const reason = exit.stderrTail || `encoder exited with ${exit.exitCode ?? exit.signal}`;
      const delayMs = crashTimes.length > 5 ? 5000 : 0;
      on.restarted({
        ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }),
        ...(exit.signal === undefined ? {} : { signal: exit.signal }),
        restarts,
        reason,
      });
      if (delayMs > 0) {
        on.error(
          new NexStreamError(
            NexStreamErrorCode.ProcessFailed,
            `channel ${options.channelId}: the encoder crashed ${crashTimes.length} times in 30 s (${reason}); waiting ${delayMs} ms before the next restart`,
          ),
        );
      }
      setTimeout(() => {
        if (runAtSpawn !== run) return;
        void on
          .crashed(async () => {
            const exists = await stat(join(hlsDirectory, options.playlistName)).then(
              () => true,
              () => false,
            );
            const lastSequence = exists ? await lastSegmentSequence() : -1;
            if (runAtSpawn !== run) return;
            spawn(exists, lastSequence);
          })
          .catch(on.error);
      }, delayMs);
    });
  };

  return {
    get encoder() {
      return encoder;
    },
    get restarts() {
      return restarts;
    },
    get lastStats() {
      return lastStats;
    },
    async start(startOptions = {}) {
      run += 1;
      lastStats = undefined;
      const lastSequence = startOptions.continuePlaylist ? await lastSegmentSequence() : -1;
      spawn(lastSequence >= 0, lastSequence);
    },
    async stop() {
      run += 1;
      clearInterval(scheduleWatcher);
      scheduleWatcher = undefined;
      await encoder?.stop();
      lastStats = undefined;
    },
  };
}
