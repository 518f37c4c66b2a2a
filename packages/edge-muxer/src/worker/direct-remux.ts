import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { type ByteSource, windowBytesFor } from '../byte-source.js';
import { assertCodecFits } from '../container.js';
import type { MuxPhase } from '../protocol.js';
import { DirectUnsupported, type Mp4Sample, type Mp4Track, openMp4Track, viewsOf } from './mp4-input.js';

/**
 * The direct MP4 writer (decision 0095): MP4/M4A inputs → fragmented MP4 without libav.js. It reads the
 * inputs' indexes, writes an init segment whose `stsd` boxes are the inputs' own, then one fragment per
 * video keyframe (as `-movflags frag_keyframe+empty_moov+default_base_moof`) whose `mdat` is the
 * samples' bytes copied once from the input buffers. Timestamps are the inputs' own (same timescales,
 * decode times, composition offsets and edit lists), so nothing is rescaled and nothing is rounded.
 * @internal
 */

/** One input of {@link openDirectRemux}. @internal */
export interface DirectInput {
  role: 'video' | 'audio';
  /** A name for messages (`the video input <URL>`). */
  label: string;
  source: ByteSource;
  /** Whether reads may jump (URL and Blob inputs) or only go forward (stream inputs). */
  seekable: boolean;
  /** Left out, instead of failing the job, when the file has no track of this kind (a one-file job). */
  optional?: boolean;
}

/** What the direct writer needs besides its inputs (a subset of the libav.js remux's options). @internal */
export interface DirectRemuxOptions {
  write(chunk: Uint8Array): Promise<void>;
  onPhase(phase: MuxPhase): void;
  isCancelled(): boolean;
  timings?: Record<string, number>;
}

/**
 * A prepared direct job (the inputs' tracks are read and accepted; `run` writes the file), or why the
 * direct writer declined the inputs. @internal
 */
export type DirectJob = { run(options: DirectRemuxOptions): Promise<void> } | { declined: string };

/** Movie timescale of the output (`mvhd`), as ffmpeg writes it. */
const movieTimescale = 1000;
/** A fragment is cut before it grows past this, keyframe or not (long GOPs at high bitrates). */
const maximumFragmentBytes = 32 * 1024 * 1024;
const maximumFragmentSamples = 8192;
/**
 * Output is handed over a fragment at a time, split into chunks of at most this size (a long GOP at a
 * high bitrate makes fragments of tens of megabytes). Each chunk is transferred to the page, so each one
 * is fresh memory; fewer, larger chunks measured faster than 256 KiB ones in the browser bench.
 */
const maximumChunkBytes = 4 * 1024 * 1024;
/** Audio-only output (or audio past the video's end): a fragment per this many seconds. */
const audioFragmentSeconds = 2;
const syncSampleFlags = 0x02000000;
const nonSyncSampleFlags = 0x01010000;

/**
 * Reads the inputs' indexes and decides whether the direct writer takes the job: resolves with the job,
 * or with the reason it declines an input outside what it handles (libav.js then does the job).
 *
 * @throws NexStreamError `NXS_UNSUPPORTED_MEDIA` for a codec that does not fit MP4 (VP9), a missing track.
 */
export async function openDirectRemux(
  given: DirectInput[],
  container: 'mp4' | 'm4a' = 'mp4',
): Promise<DirectJob> {
  let found: Array<Mp4Track | undefined>;
  try {
    // One after the other: the inputs of a one-file job share a source, and read its moov in turn.
    found = [];
    for (const input of given) {
      found.push(await openMp4Track(input.source, input.role, input.seekable, input.optional));
    }
  } catch (error) {
    if (error instanceof DirectUnsupported) return { declined: error.message };
    throw error;
  }
  const inputs = given.filter((_input, index) => found[index] !== undefined);
  const tracks = found.filter((track): track is Mp4Track => track !== undefined);
  if (tracks.length === 0) {
    throw new NexStreamError(
      NexStreamErrorCode.UnsupportedMedia,
      `${given[0]?.label ?? 'the input'} has neither a video nor an audio track`,
    );
  }
  for (const track of tracks) assertCodecFits(track.codec, container);
  tracks.forEach((track, index) => {
    const seconds = track.durationTicks / track.timescale;
    const size = inputs[index]!.source.sizeBytes;
    inputs[index]!.source.setWindowBytes(
      windowBytesFor(seconds > 0 && size > 0 ? size / seconds : 1024 * 1024),
    );
  });
  return { run: (options) => writeFragmented(tracks, inputs, options, container) };
}

/** Big-endian writes into a growing buffer, with boxes whose sizes are filled in when they close. */
class Writer {
  private data = new Uint8Array(4096);
  private view = new DataView(this.data.buffer);
  length = 0;
  private reserve(bytes: number) {
    if (this.length + bytes <= this.data.length) return;
    const grown = new Uint8Array(Math.max(this.data.length * 2, this.length + bytes));
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
    this.view = new DataView(grown.buffer);
  }
  u8(value: number) {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
  }
  u16(value: number) {
    this.reserve(2);
    this.view.setUint16(this.length, value);
    this.length += 2;
  }
  u32(value: number) {
    this.reserve(4);
    this.view.setUint32(this.length, value >>> 0);
    this.length += 4;
  }
  i32(value: number) {
    this.reserve(4);
    this.view.setInt32(this.length, value);
    this.length += 4;
  }
  u64(value: number) {
    this.u32(Math.floor(value / 2 ** 32));
    this.u32(value % 2 ** 32);
  }
  bytes(value: Uint8Array) {
    this.reserve(value.length);
    this.data.set(value, this.length);
    this.length += value.length;
  }
  fourcc(type: string) {
    for (let index = 0; index < 4; index++) this.u8(type.charCodeAt(index));
  }
  zeros(count: number) {
    for (let index = 0; index < count; index++) this.u8(0);
  }
  /** A box: size placeholder, type, optional version+flags, the body, then the size. */
  box(type: string, body: () => void, versionFlags?: number) {
    const start = this.length;
    this.u32(0);
    this.fourcc(type);
    if (versionFlags !== undefined) this.u32(versionFlags);
    body();
    this.view.setUint32(start, this.length - start);
  }
  /** Overwrites a 32-bit field written earlier. */
  patchI32(at: number, value: number) {
    this.view.setInt32(at, value);
  }
  result(): Uint8Array {
    return this.data.subarray(0, this.length);
  }
}

const identityMatrix = Uint8Array.from([
  0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0,
  0,
]);

/** `ftyp` + `moov` with empty sample tables and an `mvex`: the output's init segment. */
function initSegment(tracks: Mp4Track[], container: 'mp4' | 'm4a'): Uint8Array {
  const out = new Writer();
  out.box('ftyp', () => {
    // M4A: the brand iTunes and players use to tell an audio file; compatible with the fragmented brands.
    const major = container === 'm4a' ? 'M4A ' : 'iso5';
    out.fourcc(major);
    out.u32(512);
    for (const brand of [...(container === 'm4a' ? ['M4A '] : []), 'iso5', 'iso6', 'mp41']) out.fourcc(brand);
  });
  out.box('moov', () => {
    out.box(
      'mvhd',
      () => {
        out.zeros(8); // creation, modification
        out.u32(movieTimescale);
        out.u32(0); // duration: unknown up front (fragments follow)
        out.u32(0x00010000); // rate 1.0
        out.u16(0x0100); // volume 1.0
        out.zeros(10);
        out.bytes(identityMatrix);
        out.zeros(24); // pre_defined
        out.u32(tracks.length + 1); // next_track_ID
      },
      0,
    );
    tracks.forEach((track, index) => {
      const trackId = index + 1;
      const isVideo = track.handler === 'vide';
      out.box('trak', () => {
        out.box(
          'tkhd',
          () => {
            out.zeros(8);
            out.u32(trackId);
            out.u32(0);
            out.u32(0); // duration
            out.zeros(8);
            out.u16(0); // layer
            out.u16(isVideo ? 0 : 1); // alternate group
            out.u16(isVideo ? 0 : 0x0100); // volume
            out.u16(0);
            out.bytes(isVideo ? track.matrix : identityMatrix);
            out.u32(isVideo ? track.width : 0);
            out.u32(isVideo ? track.height : 0);
          },
          3, // enabled, in movie
        );
        if (track.edits.length > 0) {
          out.box('edts', () => {
            out.box(
              'elst',
              () => {
                out.u32(track.edits.length);
                for (const edit of track.edits) {
                  out.u64(Math.round((edit.segmentDuration * movieTimescale) / track.movieTimescale));
                  out.u64(edit.mediaTime < 0 ? 2 ** 64 - 1 : edit.mediaTime);
                  out.u32(edit.mediaRate);
                }
              },
              0x01000000, // version 1: 64-bit fields
            );
          });
        }
        out.box('mdia', () => {
          out.box(
            'mdhd',
            () => {
              out.zeros(8);
              out.u32(track.timescale);
              out.u32(0);
              out.u16(track.language);
              out.u16(0);
            },
            0,
          );
          out.box(
            'hdlr',
            () => {
              out.u32(0);
              out.fourcc(track.handler);
              out.zeros(12);
              for (const char of isVideo ? 'VideoHandler\0' : 'SoundHandler\0') out.u8(char.charCodeAt(0));
            },
            0,
          );
          out.box('minf', () => {
            if (isVideo) out.box('vmhd', () => out.zeros(8), 1);
            else out.box('smhd', () => out.zeros(4), 0);
            out.box('dinf', () => {
              out.box(
                'dref',
                () => {
                  out.u32(1);
                  out.box('url ', () => {}, 1);
                },
                0,
              );
            });
            out.box('stbl', () => {
              out.bytes(track.sampleDescription);
              out.box('stts', () => out.u32(0), 0);
              out.box('stsc', () => out.u32(0), 0);
              out.box('stsz', () => out.zeros(8), 0);
              out.box('stco', () => out.u32(0), 0);
            });
          });
        });
      });
    });
    out.box('mvex', () => {
      tracks.forEach((_track, index) => {
        out.box(
          'trex',
          () => {
            out.u32(index + 1);
            out.u32(1);
            out.zeros(12);
          },
          0,
        );
      });
    });
  });
  return out.result();
}

/** A track's samples, read batch by batch; a new batch is only read when none of the last is pending. */
class Cursor {
  private batch: Mp4Sample[] = [];
  private index = 0;
  ended = false;
  constructor(readonly track: Mp4Track) {}
  /** The next sample of the current batch, if any (no read). */
  peek(): Mp4Sample | undefined {
    return this.batch[this.index];
  }
  take(): Mp4Sample {
    return this.batch[this.index++]!;
  }
  /** Reads the next batch when the current one is used up; false at the end of the track. */
  async fill(): Promise<boolean> {
    while (this.index >= this.batch.length) {
      if (this.ended) return false;
      const next = await this.track.nextBatch();
      if (next === undefined) {
        this.ended = true;
        return false;
      }
      this.batch = next;
      this.index = 0;
    }
    return true;
  }
}

interface FragmentTrack {
  trackId: number;
  samples: Mp4Sample[];
  bytes: number;
  input: DirectInput;
}

async function writeFragmented(
  tracks: Mp4Track[],
  inputs: DirectInput[],
  options: DirectRemuxOptions,
  container: 'mp4' | 'm4a',
): Promise<void> {
  const timings = options.timings ?? {};
  const add = (key: string, since: number) => {
    timings[key] = (timings[key] ?? 0) + (performance.now() - since);
  };
  options.onPhase('probing');
  await options.write(initSegment(tracks, container));
  options.onPhase('muxing');
  const output = new ChunkedOutput(async (chunk) => {
    const started = performance.now();
    await options.write(chunk);
    add('outputMs', started);
  });
  const cursors = tracks.map((track) => new Cursor(track));
  const videoIndex = tracks.findIndex((track) => track.handler === 'vide');
  let sequence = 1;
  for (;;) {
    if (options.isCancelled())
      throw new NexStreamError(NexStreamErrorCode.Aborted, 'the mux job was cancelled');
    const parts: FragmentTrack[] = [];
    // The fragment's end in seconds, as a fraction (ticks / timescale) for exact comparisons.
    let endTicks = 0;
    let endScale = 1;
    const video = videoIndex === -1 ? undefined : cursors[videoIndex]!;
    if (video !== undefined && (await video.fill())) {
      // From this sample up to the next keyframe (frag_keyframe), within the current input batch.
      const part: FragmentTrack = {
        trackId: videoIndex + 1,
        samples: [],
        bytes: 0,
        input: inputs[videoIndex]!,
      };
      for (let sample = video.peek(); sample !== undefined; sample = video.peek()) {
        if (part.samples.length > 0 && (sample.sync || part.bytes + sample.size > maximumFragmentBytes))
          break;
        if (part.samples.length >= maximumFragmentSamples) break;
        part.samples.push(video.take());
        part.bytes += sample.size;
      }
      const last = part.samples.at(-1)!;
      endTicks = last.dts + last.duration;
      endScale = video.track.timescale;
      parts.push(part);
    }
    for (const [index, cursor] of cursors.entries()) {
      if (index === videoIndex) continue;
      const part: FragmentTrack = { trackId: index + 1, samples: [], bytes: 0, input: inputs[index]! };
      if (!(await cursor.fill())) continue;
      if (parts.length === 0) {
        // No video (left): about two seconds of audio per fragment.
        const first = cursor.peek()!;
        endTicks = first.dts + audioFragmentSeconds * cursor.track.timescale;
        endScale = cursor.track.timescale;
      }
      const scale = cursor.track.timescale;
      // Samples that start before the fragment's end, within the current input batch.
      for (let sample = cursor.peek(); sample !== undefined; sample = cursor.peek()) {
        if (sample.dts * endScale >= endTicks * scale && (parts.length > 0 || part.samples.length > 0)) break;
        if (part.bytes + sample.size > maximumFragmentBytes || part.samples.length >= maximumFragmentSamples)
          break;
        part.samples.push(cursor.take());
        part.bytes += sample.size;
      }
      if (part.samples.length > 0) parts.push(part);
    }
    if (parts.length === 0) break;
    const started = performance.now();
    await writeFragment(sequence++, parts, output);
    add('fragmentMs', started);
    timings.fragments = (timings.fragments ?? 0) + 1;
  }
  await output.flush();
  options.onPhase('finishing');
}

/**
 * Gathers output bytes into chunks and writes each one when it is full: {@link ChunkedOutput.expect}
 * sizes the chunks to what is coming (a fragment), at most {@link maximumChunkBytes}.
 */
class ChunkedOutput {
  private chunk = new Uint8Array(0);
  private filled = 0;
  private coming = 0;
  constructor(private readonly write: (chunk: Uint8Array) => Promise<void>) {}
  /** Announces the next `bytes` bytes (a fragment), so chunks are allocated to fit. */
  expect(bytes: number): void {
    this.coming = bytes;
  }
  async bytes(data: Uint8Array): Promise<void> {
    if (this.filled === 0 && this.chunk.length === 0) this.allocate(data.length);
    let offset = 0;
    while (offset < data.length) {
      const count = Math.min(data.length - offset, this.chunk.length - this.filled);
      this.chunk.set(count === data.length ? data : data.subarray(offset, offset + count), this.filled);
      this.filled += count;
      this.coming -= count;
      offset += count;
      if (this.filled === this.chunk.length) {
        await this.flush();
        if (offset < data.length) this.allocate(data.length - offset);
      }
    }
  }
  private allocate(atLeast: number) {
    this.chunk = new Uint8Array(Math.min(maximumChunkBytes, Math.max(this.coming, atLeast, 1)));
    this.filled = 0;
  }
  async flush(): Promise<void> {
    if (this.filled === 0) return;
    const full = this.filled === this.chunk.length ? this.chunk : this.chunk.subarray(0, this.filled);
    this.chunk = new Uint8Array(0);
    this.filled = 0;
    await this.write(full);
  }
}

/** One `moof` + `mdat`: the header boxes, then each track's samples copied in order from its input. */
async function writeFragment(sequence: number, parts: FragmentTrack[], output: ChunkedOutput): Promise<void> {
  const moof = new Writer();
  const dataOffsetFields: number[] = [];
  moof.box('moof', () => {
    moof.box('mfhd', () => moof.u32(sequence), 0);
    for (const part of parts) {
      moof.box('traf', () => {
        moof.box('tfhd', () => moof.u32(part.trackId), 0x020000); // default-base-is-moof
        moof.box('tfdt', () => moof.u64(part.samples[0]!.dts), 0x01000000);
        // Version 1 (signed composition offsets); data offset, duration, size, flags, offset per sample.
        moof.box(
          'trun',
          () => {
            moof.u32(part.samples.length);
            dataOffsetFields.push(moof.length);
            moof.i32(0);
            for (const sample of part.samples) {
              moof.u32(sample.duration);
              moof.u32(sample.size);
              moof.u32(sample.sync ? syncSampleFlags : nonSyncSampleFlags);
              moof.i32(sample.ctsOffset);
            }
          },
          0x01000f01,
        );
      });
    }
  });
  const payloadBytes = parts.reduce((sum, part) => sum + part.bytes, 0);
  let dataOffset = moof.length + 8;
  parts.forEach((part, index) => {
    moof.patchI32(dataOffsetFields[index]!, dataOffset);
    dataOffset += part.bytes;
  });
  moof.u32(8 + payloadBytes);
  moof.fourcc('mdat');
  output.expect(moof.length + payloadBytes);
  await output.bytes(moof.result());
  for (const part of parts) {
    // Runs of samples that lie back to back in the input are copied in one go.
    let runStart = part.samples[0]!.offset;
    let runBytes = 0;
    const copyRun = async () => {
      for await (const view of viewsOf(part.input.source, runStart, runBytes, part.input.label)) {
        await output.bytes(view);
      }
    };
    for (const sample of part.samples) {
      if (sample.offset !== runStart + runBytes) {
        await copyRun();
        runStart = sample.offset;
        runBytes = 0;
      }
      runBytes += sample.size;
    }
    await copyRun();
  }
}
