import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../test/support/wait.js';
import { decoderArguments } from './decoder.js';
import { encoderArguments } from './encoder.js';
import { resolveProfile } from './profile.js';
import { createRelay, lastVideoPts, tsPacketBytes } from './relay.js';

/** One TS packet starting a video PES with this PTS (90 kHz). */
function videoPacket(pts: number): Buffer {
  const packet = Buffer.alloc(tsPacketBytes, 0xff);
  packet.set([0x47, 0x41, 0x00, 0x10], 0); // sync, PUSI + PID 0x100, payload only
  const pes = [0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5];
  packet.set(pes, 4);
  packet.set(
    [
      0x21 | ((Math.floor(pts / 2 ** 30) & 0x07) << 1),
      (pts >> 22) & 0xff,
      (((pts >> 15) & 0x7f) << 1) | 1,
      (pts >> 7) & 0xff,
      ((pts & 0x7f) << 1) | 1,
    ],
    13,
  );
  return packet;
}

function sink() {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

describe('relay', () => {
  it('reads the PTS of video PES packets', () => {
    expect(lastVideoPts(Buffer.concat([videoPacket(90_000), videoPacket(2 ** 32 + 123)]))).toBe(
      2 ** 32 + 123,
    );
    expect(lastVideoPts(Buffer.alloc(tsPacketBytes, 0x47))).toBeUndefined();
  });

  it('forwards whole packets only and drops the partial packet of a cut source', async () => {
    const relay = createRelay();
    const target = sink();
    relay.attach(target.stream);
    const source = new PassThrough();
    const playing = relay.play(source);
    source.write(Buffer.concat([videoPacket(0), videoPacket(3600)]).subarray(0, tsPacketBytes + 100));
    await new Promise((resolve) => setImmediate(resolve));
    relay.cut();
    expect(await playing).toBe('cut');
    expect(target.bytes().length).toBe(tsPacketBytes);
    const next = new PassThrough();
    const ended = relay.play(next);
    next.end(videoPacket(0));
    expect(await ended).toBe('ended');
    expect(target.bytes().length).toBe(2 * tsPacketBytes);
  });

  it('paces the media at real time after a burst of one lead, across sources', async () => {
    let clock = 0;
    const relay = createRelay({ leadMs: 2000, now: () => clock });
    const target = sink();
    relay.attach(target.stream);
    relay.resetClock();
    const source = new PassThrough();
    const playing = relay.play(source);
    // Ten seconds of frames at 25 fps, offered at once.
    for (let frame = 0; frame < 250; frame += 1) source.write(videoPacket(frame * 3600));
    source.end();
    // The relay lets one lead (two seconds) through at once, then waits for the clock.
    await waitFor(() => relay.sourceMediaMs >= 1900, 'the burst of one lead', { intervalMs: 5 });
    const burst = target.bytes().length / tsPacketBytes;
    expect(burst).toBeGreaterThan(40); // about two seconds go through at once
    expect(burst).toBeLessThan(250);
    expect(relay.sourceMediaMs).toBeLessThanOrEqual(2100);
    clock = 20_000; // the wall clock moves on: the rest may flow
    await playing;
    expect(target.bytes().length / tsPacketBytes).toBe(250);
    expect(relay.sourceMediaMs).toBe(249 * 40);
  });
});

describe('process arguments', () => {
  const profile = resolveProfile({ width: 321, height: 179, fps: 25 });

  it('bounds every decoder with -t and generates silence for a silent video', () => {
    const args = decoderArguments(
      { kind: 'item', path: '/m/a.mp4', startMs: 1500, durationMs: 3500, hasAudio: false },
      profile,
    );
    expect(args).toContain('-t');
    expect(args[args.indexOf('-t') + 1]).toBe('3.500');
    expect(args.join(' ')).toContain('anullsrc=r=48000:cl=stereo');
    expect(args.join(' ')).toContain('scale=w=322:h=180');
    expect(args.slice(0, args.indexOf('-i'))).toContain('-ss');
  });

  it('configures the encoder for constant 2 s segments and a fast reaction to timestamp jumps', () => {
    const args = encoderArguments(profile, { hlsDirectory: '/h', append: true, pacedInput: true });
    expect(args[args.indexOf('-dts_delta_threshold') + 1]).toBe('1');
    expect(args).not.toContain('-re');
    expect(args[args.indexOf('-hls_flags') + 1]).toBe(
      'delete_segments+omit_endlist+temp_file+independent_segments+program_date_time+append_list',
    );
    expect(args).toContain('expr:gte(t,n_forced*2)');
    expect(encoderArguments(profile, { hlsDirectory: '/h', append: false })).toContain('-re');
  });
});
