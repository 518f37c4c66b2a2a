import type { Readable, Writable } from 'node:stream';

/** MPEG-TS packet size: the relay only ever forwards whole packets. */
export const tsPacketBytes = 188;

/** How a relayed source ended. */
export type RelayOutcome = 'ended' | 'cut';

/** Options for {@link createRelay}. */
export interface RelayOptions {
  /**
   * Pace the stream at real time from the video timestamps, allowing the media to run at most this many
   * milliseconds ahead of the wall clock. This replaces ffmpeg's `-re` on the encoder, which cannot burst:
   * after {@link Relay.resetClock} the first `leadMs` of media go through at once, so the first segment after
   * a start or a crash is ready in a fraction of a second instead of a full segment later. `undefined`
   * disables pacing (the encoder must then pace itself with `-re`).
   */
  leadMs?: number;
  /**
   * Media milliseconds between the last frame of one source and the first of the next: the encoder puts the
   * next source one frame after the last (`-dts_delta_threshold`), so this is one frame at the channel's
   * rate. Default 1.
   */
  frameGapMs?: number;
  /** Clock in milliseconds (tests inject one). */
  now?: () => number;
}

/**
 * Forwards one decoder's MPEG-TS at a time into the encoder's stdin, in whole 188-byte packets, with
 * backpressure and (optionally) real-time pacing.
 */
export interface Relay {
  /** Sets the encoder input (again after an encoder restart). */
  attach(target: Writable): void;
  /**
   * Forwards `source` until it ends (`'ended'`, after its last byte) or {@link Relay.cut} is called
   * (`'cut'`, at once, dropping any partial packet). One source at a time.
   */
  play(source: Readable): Promise<RelayOutcome>;
  /** Stops forwarding the current source now. */
  cut(): void;
  /** Restarts the pacing clock now, with a fresh burst allowance of `leadMs` (at start and after a crash). */
  resetClock(): void;
  /** Media milliseconds of the current source forwarded so far (from its video timestamps). */
  readonly sourceMediaMs: number;
  /**
   * Media milliseconds forwarded since creation, continuous across sources (each source starts
   * {@link RelayOptions.frameGapMs} after the last frame of the one before): read before {@link Relay.play}
   * it is where that source will start on the encoder's clock.
   */
  readonly mediaPositionMs: number;
  /** Bytes forwarded since creation. */
  readonly bytesForwarded: number;
}

/** Creates a {@link Relay}. */
export function createRelay(options: RelayOptions = {}): Relay {
  const now = options.now ?? (() => performance.now());
  const leadMs = options.leadMs;
  const frameGapMs = options.frameGapMs ?? 1;
  let target: Writable | undefined;
  let detach: ((outcome: RelayOutcome) => void) | undefined;
  let forwarded = 0;
  let waitingForDrain: Readable | undefined;
  // Pacing: media time (ms, continuous across sources) may not exceed wall time since the clock reset + lead.
  let clockStartedAt = now();
  let clockMediaStartMs = 0;
  let mediaPositionMs = 0;
  let sourceMediaMs = 0;

  const onDrain = () => {
    const source = waitingForDrain;
    waitingForDrain = undefined;
    source?.resume();
  };

  return {
    attach(next) {
      target?.off('drain', onDrain);
      target = next;
      target.on('drain', onDrain);
      onDrain();
    },
    play(source) {
      detach?.('cut');
      sourceMediaMs = 0;
      return new Promise<RelayOutcome>((resolve) => {
        let remainder: Buffer = Buffer.alloc(0);
        let basePts: number | undefined;
        const sourceStartMs = mediaPositionMs;
        let paceTimer: NodeJS.Timeout | undefined;
        const onData = (chunk: Buffer) => {
          const data = remainder.length > 0 ? Buffer.concat([remainder, chunk]) : chunk;
          const whole = data.length - (data.length % tsPacketBytes);
          remainder = data.subarray(whole);
          if (whole === 0) return;
          const packets = data.subarray(0, whole);
          const pts = lastVideoPts(packets);
          if (pts !== undefined) {
            basePts ??= pts;
            const elapsed = ((pts - basePts + 2 ** 33) % 2 ** 33) / 90;
            if (elapsed < 6 * 3600 * 1000) {
              sourceMediaMs = Math.max(sourceMediaMs, elapsed);
              mediaPositionMs = Math.max(mediaPositionMs, sourceStartMs + elapsed);
            }
          }
          forwarded += whole;
          const current = target;
          if (!current || current.destroyed || current.writableEnded) {
            source.pause();
            waitingForDrain = source;
            return;
          }
          const accepted = current.write(packets);
          if (!accepted) {
            source.pause();
            waitingForDrain = source;
          }
          if (leadMs !== undefined) {
            const aheadMs = mediaPositionMs - clockMediaStartMs - (now() - clockStartedAt) - leadMs;
            if (aheadMs > 0) {
              source.pause();
              clearTimeout(paceTimer);
              paceTimer = setTimeout(() => {
                paceTimer = undefined;
                if (waitingForDrain !== source) source.resume();
              }, aheadMs);
            }
          }
        };
        const finish = (outcome: RelayOutcome) => {
          clearTimeout(paceTimer);
          source.off('data', onData);
          source.off('end', onEnd);
          source.off('error', onEnd);
          if (waitingForDrain === source) waitingForDrain = undefined;
          detach = undefined;
          // The next source continues one frame later on the media clock.
          mediaPositionMs += frameGapMs;
          resolve(outcome);
        };
        const onEnd = () => finish('ended');
        detach = finish;
        source.on('data', onData);
        source.once('end', onEnd);
        source.once('error', onEnd);
        source.resume();
      });
    },
    cut() {
      detach?.('cut');
    },
    resetClock() {
      clockStartedAt = now();
      clockMediaStartMs = mediaPositionMs;
    },
    get sourceMediaMs() {
      return sourceMediaMs;
    },
    get mediaPositionMs() {
      return mediaPositionMs;
    },
    get bytesForwarded() {
      return forwarded;
    },
  };
}

/**
 * The presentation timestamp (90 kHz units) of the last video PES that starts in `packets` (whole TS
 * packets), or `undefined`. Video is MPEG-2 (stream ids 0xE0–0xEF) in the intermediate stream and H.264 in
 * copy playout; both carry a PTS on every frame.
 */
export function lastVideoPts(packets: Uint8Array): number | undefined {
  let found: number | undefined;
  for (let offset = 0; offset + tsPacketBytes <= packets.length; offset += tsPacketBytes) {
    if (packets[offset] !== 0x47) continue;
    const flags = packets[offset + 1] as number;
    if ((flags & 0x40) === 0) continue; // not the start of a PES
    const control = ((packets[offset + 3] as number) >> 4) & 0x3;
    if ((control & 0x1) === 0) continue; // no payload
    let payload = offset + 4;
    if (control & 0x2) payload += 1 + (packets[offset + 4] as number);
    if (payload + 14 > offset + tsPacketBytes) continue;
    if (packets[payload] !== 0 || packets[payload + 1] !== 0 || packets[payload + 2] !== 1) continue;
    const streamId = packets[payload + 3] as number;
    if (streamId < 0xe0 || streamId > 0xef) continue;
    if (((packets[payload + 7] as number) & 0x80) === 0) continue; // no PTS
    const p = (index: number) => packets[payload + 9 + index] as number;
    found = ((p(0) >> 1) & 0x07) * 2 ** 30 + (p(1) << 22) + ((p(2) >> 1) << 15) + (p(3) << 7) + (p(4) >> 1);
  }
  return found;
}
