import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { ByteSource } from '../byte-source.js';

/**
 * Reading ISO-BMFF (MP4/M4A) inputs for the direct MP4 writer (decision 0095): the track's header boxes
 * and its samples — where each one lies in the file, its timing and whether it is a sync sample — from
 * the sample tables of a progressive file or from the `moof` boxes of a fragmented one (DASH, as
 * YouTube serves). Nothing here decodes or copies media: the writer copies the samples' bytes straight
 * from the {@link ByteSource} into its fragments. @internal
 */

/** One sample (an access unit) of a track, in decode order. @internal */
export interface Mp4Sample {
  /** Decode time, in the track's timescale. */
  dts: number;
  /** Duration, in the track's timescale. */
  duration: number;
  /** Presentation time minus decode time (negative after a version 1 `ctts`/`trun`). */
  ctsOffset: number;
  /** Size in bytes. */
  size: number;
  /** Byte offset in the file. */
  offset: number;
  /** Whether the sample is a sync sample (a keyframe). */
  sync: boolean;
}

/** One edit of a track's edit list (`elst`). @internal */
export interface Mp4Edit {
  /** Duration of the edit in the movie's timescale (0: to the end, as fragmented files write it). */
  segmentDuration: number;
  /** Where the edit starts in the media's timeline (track timescale), or -1 for an empty edit. */
  mediaTime: number;
  /** The media rate, 16.16 fixed point (0x00010000 = normal speed). */
  mediaRate: number;
}

/** A track the direct writer copies, with what its output `trak` needs. @internal */
export interface Mp4Track {
  handler: 'vide' | 'soun';
  /** The codec, in libavcodec's names (`h264`, `aac`…), or the sample entry's four-character code. */
  codec: string;
  /** Ticks per second of the track's media timeline. */
  timescale: number;
  /** The `mdhd` language field (packed ISO-639-2/T). */
  language: number;
  /** The whole `stsd` box, copied as it is into the output (codec configuration: avcC, esds…). */
  sampleDescription: Uint8Array;
  /** The `tkhd` transformation matrix (36 bytes: rotation), width and height (16.16 fixed point). */
  matrix: Uint8Array;
  width: number;
  height: number;
  /** The edit list, with segment durations in {@link Mp4Track.movieTimescale}. */
  edits: Mp4Edit[];
  movieTimescale: number;
  /** The sum of the sample durations when the sample tables give them (progressive files), else 0. */
  durationTicks: number;
  /** The next batch of samples in decode order, or `undefined` at the end of the track. */
  nextBatch(): Promise<Mp4Sample[] | undefined>;
}

/** Why an input is left to libav.js instead: the direct writer handles the common cases only. @internal */
export class DirectUnsupported extends Error {
  override name = 'DirectUnsupported';
}

interface Box {
  type: string;
  /** Offset of the box's payload (after its header) in the buffer. */
  start: number;
  /** Offset of the end of the box in the buffer. */
  end: number;
}

/** Big-endian reads on a buffer, with the bounds checked by DataView itself. */
class Reader {
  readonly view: DataView;
  constructor(readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }
  u8(at: number): number {
    return this.view.getUint8(at);
  }
  u16(at: number): number {
    return this.view.getUint16(at);
  }
  i16(at: number): number {
    return this.view.getInt16(at);
  }
  u32(at: number): number {
    return this.view.getUint32(at);
  }
  i32(at: number): number {
    return this.view.getInt32(at);
  }
  u64(at: number): number {
    return this.view.getUint32(at) * 2 ** 32 + this.view.getUint32(at + 4);
  }
  i64(at: number): number {
    return this.view.getInt32(at) * 2 ** 32 + this.view.getUint32(at + 4);
  }
  type(at: number): string {
    return String.fromCharCode(this.u8(at), this.u8(at + 1), this.u8(at + 2), this.u8(at + 3));
  }
  /** The boxes between `start` and `end`. */
  children(start: number, end: number): Box[] {
    const boxes: Box[] = [];
    let at = start;
    while (at + 8 <= end) {
      let size = this.u32(at);
      const type = this.type(at + 4);
      let header = 8;
      if (size === 1) {
        size = this.u64(at + 8);
        header = 16;
      } else if (size === 0) {
        size = end - at;
      }
      if (size < header || at + size > end) throw new DirectUnsupported(`box ${type} overruns its parent`);
      boxes.push({ type, start: at + header, end: at + size });
      at += size;
    }
    return boxes;
  }
  child(parent: Box, type: string): Box | undefined {
    return this.children(parent.start, parent.end).find((box) => box.type === type);
  }
}

/** libavcodec names of the sample entries the direct writer knows. */
const codecBySampleEntry: Readonly<Record<string, string>> = {
  avc1: 'h264',
  avc3: 'h264',
  hvc1: 'hevc',
  hev1: 'hevc',
  av01: 'av1',
  vp09: 'vp9',
  vp08: 'vp8',
  Opus: 'opus',
  fLaC: 'flac',
  'ac-3': 'ac3',
  'ec-3': 'eac3',
  alac: 'alac',
};

/** MPEG-4 object type indications of `esds` (ISO 14496-1) that name AAC, and MP3. */
const aacObjectTypes = new Set([0x40, 0x66, 0x67, 0x68]);
const mp3ObjectTypes = new Set([0x69, 0x6b]);

/** The codec of an `mp4a` entry, from the object type in its `esds` descriptor. */
function mp4aCodec(reader: Reader, entry: Box): string {
  // AudioSampleEntry: 8 reserved+index bytes, then version 0/1/2 sound description (28/44/64 bytes).
  const version = reader.u16(entry.start + 8);
  const childrenAt = entry.start + (version === 1 ? 44 : version === 2 ? 64 : 28);
  const esds = reader.children(childrenAt, entry.end).find((box) => box.type === 'esds');
  if (esds === undefined) throw new DirectUnsupported('mp4a without esds');
  let at = esds.start + 4;
  // Descriptors: tag, then a size in up to 4 bytes of 7 bits.
  const descriptor = () => {
    const tag = reader.u8(at++);
    let size = 0;
    for (let index = 0; index < 4; index++) {
      const byte = reader.u8(at++);
      size = (size << 7) | (byte & 0x7f);
      if ((byte & 0x80) === 0) break;
    }
    return { tag, size };
  };
  const es = descriptor();
  if (es.tag !== 0x03) throw new DirectUnsupported('esds without an ES descriptor');
  at += 2;
  const flags = reader.u8(at++);
  if (flags & 0x80) at += 2;
  if (flags & 0x40) at += 1 + reader.u8(at);
  if (flags & 0x20) at += 2;
  const config = descriptor();
  if (config.tag !== 0x04) throw new DirectUnsupported('esds without a decoder config');
  const objectType = reader.u8(at);
  if (aacObjectTypes.has(objectType)) return 'aac';
  if (mp3ObjectTypes.has(objectType)) return 'mp3';
  throw new DirectUnsupported(`mp4a object type 0x${objectType.toString(16)}`);
}

/** Reads `length` bytes at `position` into a new buffer (box headers, `moov`, `moof`: small). */
export async function readExactly(source: ByteSource, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let at = 0;
  for await (const view of viewsOf(source, position, length, 'the input')) {
    out.set(view, at);
    at += view.length;
  }
  return out;
}

/**
 * The bytes of the file from `position` for `length` bytes, as views of the source's buffered blocks
 * (no copy; valid until the source moves on), waiting for the transfer where needed.
 *
 * @throws NexStreamError `NXS_UNSUPPORTED_MEDIA` naming `label` when the file ends first (truncated input).
 */
export async function* viewsOf(
  source: ByteSource,
  position: number,
  length: number,
  label: string,
): AsyncGenerator<Uint8Array> {
  let done = 0;
  while (done < length) {
    const at = position + done;
    const view = source.peek(at) ?? (await source.read(at));
    if (view.length === 0) {
      throw new NexStreamError(
        NexStreamErrorCode.UnsupportedMedia,
        `${label} ends at byte ${at}, but its index lists media up to byte ${position + length}: the file is truncated or corrupt`,
      );
    }
    const count = Math.min(view.length, length - done);
    yield count === view.length ? view : view.subarray(0, count);
    done += count;
  }
}

interface TopBox {
  type: string;
  /** File offset of the box header. */
  position: number;
  headerSize: number;
  size: number;
}

async function readTopBox(source: ByteSource, position: number): Promise<TopBox | undefined> {
  if (source.sizeBytes >= 0 && position + 8 > source.sizeBytes) return undefined;
  const header = new Reader(await readExactly(source, position, Math.min(16, source.sizeBytes - position)));
  let size = header.u32(0);
  let headerSize = 8;
  if (size === 1) {
    size = header.u64(8);
    headerSize = 16;
  } else if (size === 0) {
    size = source.sizeBytes - position;
  }
  if (size < headerSize) throw new DirectUnsupported(`top-level box of ${size} bytes`);
  return { type: header.type(4), position, headerSize, size };
}

/** Per-track defaults of a fragmented file (`trex`). */
interface TrackDefaults {
  sampleDescriptionIndex: number;
  duration: number;
  size: number;
  flags: number;
}

const nonSyncFlag = 0x10000;

/**
 * Opens the first `role` track of an MP4/M4A input: finds the `moov` (skipping an `mdat` before it with
 * a side request when the source is random-access), reads the track's boxes and prepares its samples.
 *
 * @throws DirectUnsupported for inputs the direct writer leaves to libav.js (several sample
 *   descriptions, encryption, unknown codecs, a stream input with its index at the end, odd boxes).
 */
export async function openMp4Track(
  source: ByteSource,
  role: 'video' | 'audio',
  seekable: boolean,
  optional?: false,
): Promise<Mp4Track>;
export async function openMp4Track(
  source: ByteSource,
  role: 'video' | 'audio',
  seekable: boolean,
  optional?: boolean,
): Promise<Mp4Track | undefined>;
export async function openMp4Track(
  source: ByteSource,
  role: 'video' | 'audio',
  seekable: boolean,
  optional = false,
): Promise<Mp4Track | undefined> {
  let position = 0;
  let moov: Uint8Array | undefined;
  let afterMoov = 0;
  let sawMedia = false;
  while (moov === undefined) {
    const box = await readTopBox(source, position);
    if (box === undefined) throw new DirectUnsupported('no moov box');
    if (box.type === 'moov') {
      moov = await readExactly(source, position, box.size);
      afterMoov = position + box.size;
      break;
    }
    if (box.type === 'mdat' || box.type === 'moof') {
      if (!seekable) throw new DirectUnsupported('the index comes after the media in a stream input');
      sawMedia = true;
    }
    position += box.size;
  }
  const reader = new Reader(moov);
  const moovBox: Box = { type: 'moov', start: 8, end: moov.length };
  if (reader.u32(0) === 1) moovBox.start = 16;
  const mvhd = reader.child(moovBox, 'mvhd');
  if (mvhd === undefined) throw new DirectUnsupported('moov without mvhd');
  const movieTimescale = reader.u32(mvhd.start + (reader.u8(mvhd.start) === 1 ? 20 : 12));
  const wantedHandler = role === 'video' ? 'vide' : 'soun';
  for (const trak of reader.children(moovBox.start, moovBox.end)) {
    if (trak.type !== 'trak') continue;
    const mdia = reader.child(trak, 'mdia');
    const hdlr = mdia && reader.child(mdia, 'hdlr');
    if (mdia === undefined || hdlr === undefined || reader.type(hdlr.start + 8) !== wantedHandler) continue;
    const track = parseTrack(reader, trak, mdia, wantedHandler, movieTimescale);
    const mvex = reader.child(moovBox, 'mvex');
    const tables = sampleTables(reader, track.stbl);
    if (tables.length > 0 || mvex === undefined) {
      return { ...track.header, durationTicks: sumDurations(tables), nextBatch: onceThen(tables) };
    }
    const trex = reader
      .children(mvex.start, mvex.end)
      .find((box) => box.type === 'trex' && reader.u32(box.start + 4) === track.trackId);
    const defaults: TrackDefaults = trex
      ? {
          sampleDescriptionIndex: reader.u32(trex.start + 8),
          duration: reader.u32(trex.start + 12),
          size: reader.u32(trex.start + 16),
          flags: reader.u32(trex.start + 20),
        }
      : { sampleDescriptionIndex: 1, duration: 0, size: 0, flags: 0 };
    // A fragmented file with an mdat or moof before its moov is not something a DASH server writes.
    if (sawMedia) throw new DirectUnsupported('fragments before the moov');
    return {
      ...track.header,
      durationTicks: 0,
      nextBatch: fragmentReader(source, afterMoov, track.trackId, defaults),
    };
  }
  if (optional) return undefined;
  throw new NexStreamError(NexStreamErrorCode.UnsupportedMedia, `the ${role} input has no ${role} track`);
}

function sumDurations(samples: Mp4Sample[]): number {
  let total = 0;
  for (const sample of samples) total += sample.duration;
  return total;
}

/** A batch source that yields `samples` once (a progressive file's whole table), then ends. */
function onceThen(samples: Mp4Sample[]): () => Promise<Mp4Sample[] | undefined> {
  let given = false;
  return async () => {
    if (given || samples.length === 0) return undefined;
    given = true;
    return samples;
  };
}

interface ParsedTrack {
  trackId: number;
  stbl: Box;
  header: Omit<Mp4Track, 'nextBatch' | 'durationTicks'>;
}

function parseTrack(
  reader: Reader,
  trak: Box,
  mdia: Box,
  handler: 'vide' | 'soun',
  movieTimescale: number,
): ParsedTrack {
  const tkhd = reader.child(trak, 'tkhd');
  const mdhd = reader.child(mdia, 'mdhd');
  const minf = reader.child(mdia, 'minf');
  const stbl = minf && reader.child(minf, 'stbl');
  const stsd = stbl && reader.child(stbl, 'stsd');
  if (!tkhd || !mdhd || !stbl || !stsd) throw new DirectUnsupported('incomplete trak');
  const tkhdV1 = reader.u8(tkhd.start) === 1;
  const trackId = reader.u32(tkhd.start + (tkhdV1 ? 20 : 12));
  // After the version-dependent times: 8 reserved, layer, group, volume, 2 reserved, matrix, w, h.
  const tkhdTail = tkhd.start + (tkhdV1 ? 36 : 24) + 16;
  const mdhdV1 = reader.u8(mdhd.start) === 1;
  const timescale = reader.u32(mdhd.start + (mdhdV1 ? 20 : 12));
  const language = reader.u16(mdhd.start + (mdhdV1 ? 32 : 20));
  if (timescale === 0) throw new DirectUnsupported('timescale 0');
  const entries = reader.u32(stsd.start + 4);
  if (entries !== 1) throw new DirectUnsupported(`${entries} sample descriptions`);
  const [entry] = reader.children(stsd.start + 8, stsd.end);
  if (entry === undefined) throw new DirectUnsupported('empty stsd');
  const codec = entry.type === 'mp4a' ? mp4aCodec(reader, entry) : codecBySampleEntry[entry.type];
  if (codec === undefined) throw new DirectUnsupported(`sample entry ${entry.type}`);
  const edits: Mp4Edit[] = [];
  const edts = reader.child(trak, 'edts');
  const elst = edts && reader.child(edts, 'elst');
  if (elst !== undefined) {
    const v1 = reader.u8(elst.start) === 1;
    const count = reader.u32(elst.start + 4);
    let at = elst.start + 8;
    for (let index = 0; index < count; index++) {
      edits.push({
        segmentDuration: v1 ? reader.u64(at) : reader.u32(at),
        mediaTime: v1 ? reader.i64(at + 8) : reader.i32(at + 4),
        mediaRate: reader.u32(at + (v1 ? 16 : 8)),
      });
      at += v1 ? 20 : 12;
    }
  }
  // The stsd box with its header, as it appears in the file.
  const stsdStart = stsd.start - 8;
  return {
    trackId,
    stbl,
    header: {
      handler,
      codec,
      timescale,
      language,
      sampleDescription: reader.data.slice(stsdStart, stsd.end),
      matrix: reader.data.slice(tkhdTail, tkhdTail + 36),
      width: reader.u32(tkhdTail + 36),
      height: reader.u32(tkhdTail + 40),
      edits,
      movieTimescale,
    },
  };
}

/** The samples of a progressive file, from `stts`, `ctts`, `stss`, `stsz`/`stz2`, `stsc` and `stco`/`co64`. */
function sampleTables(reader: Reader, stbl: Box): Mp4Sample[] {
  const boxes = new Map(reader.children(stbl.start, stbl.end).map((box) => [box.type, box]));
  const stts = boxes.get('stts');
  const stsc = boxes.get('stsc');
  const stsz = boxes.get('stsz') ?? boxes.get('stz2');
  const chunkOffsets = boxes.get('stco') ?? boxes.get('co64');
  if (!stts || !stsc || !stsz || !chunkOffsets) throw new DirectUnsupported('incomplete sample tables');
  // Sizes.
  const sizes: number[] = [];
  if (stsz.type === 'stsz') {
    const fixed = reader.u32(stsz.start + 4);
    const count = reader.u32(stsz.start + 8);
    for (let index = 0; index < count; index++) {
      sizes.push(fixed !== 0 ? fixed : reader.u32(stsz.start + 12 + index * 4));
    }
  } else {
    const fieldBits = reader.u8(stsz.start + 7);
    const count = reader.u32(stsz.start + 8);
    for (let index = 0; index < count; index++) {
      const at = stsz.start + 12;
      sizes.push(
        fieldBits === 16
          ? reader.u16(at + index * 2)
          : fieldBits === 8
            ? reader.u8(at + index)
            : (reader.u8(at + (index >> 1)) >> ((1 - (index & 1)) * 4)) & 0xf,
      );
    }
  }
  const count = sizes.length;
  if (count === 0) return [];
  const samples: Mp4Sample[] = new Array(count);
  // Decode times and durations.
  let index = 0;
  let dts = 0;
  const sttsCount = reader.u32(stts.start + 4);
  for (let entry = 0; entry < sttsCount && index < count; entry++) {
    const run = reader.u32(stts.start + 8 + entry * 8);
    const delta = reader.u32(stts.start + 12 + entry * 8);
    for (let k = 0; k < run && index < count; k++, index++) {
      samples[index] = { dts, duration: delta, ctsOffset: 0, size: sizes[index]!, offset: 0, sync: true };
      dts += delta;
    }
  }
  if (index !== count) throw new DirectUnsupported('stts and stsz disagree on the sample count');
  // Composition offsets.
  const ctts = boxes.get('ctts');
  if (ctts !== undefined) {
    const entries = reader.u32(ctts.start + 4);
    index = 0;
    for (let entry = 0; entry < entries && index < count; entry++) {
      const run = reader.u32(ctts.start + 8 + entry * 8);
      // Version 0 is unsigned on paper, but writers put negative offsets there too: read it signed.
      const offset = reader.i32(ctts.start + 12 + entry * 8);
      for (let k = 0; k < run && index < count; k++) samples[index++]!.ctsOffset = offset;
    }
  }
  // Sync samples (no stss: every sample is one).
  const stss = boxes.get('stss');
  if (stss !== undefined) {
    for (const sample of samples) sample.sync = false;
    const entries = reader.u32(stss.start + 4);
    for (let entry = 0; entry < entries; entry++) {
      const number = reader.u32(stss.start + 8 + entry * 4);
      const sample = samples[number - 1];
      if (sample !== undefined) sample.sync = true;
    }
  }
  // Offsets: chunks from stco/co64, samples per chunk from stsc.
  const chunkCount = reader.u32(chunkOffsets.start + 4);
  const chunkOffset = (chunk: number) =>
    chunkOffsets.type === 'co64'
      ? reader.u64(chunkOffsets.start + 8 + chunk * 8)
      : reader.u32(chunkOffsets.start + 8 + chunk * 4);
  const stscCount = reader.u32(stsc.start + 4);
  index = 0;
  for (let entry = 0; entry < stscCount; entry++) {
    const at = stsc.start + 8 + entry * 12;
    const firstChunk = reader.u32(at) - 1;
    const perChunk = reader.u32(at + 4);
    if (reader.u32(at + 8) !== 1) throw new DirectUnsupported('several sample descriptions in use');
    const lastChunk = entry + 1 < stscCount ? reader.u32(at + 12) - 1 : chunkCount;
    for (let chunk = firstChunk; chunk < lastChunk && index < count; chunk++) {
      let offset = chunkOffset(chunk);
      for (let k = 0; k < perChunk && index < count; k++, index++) {
        const sample = samples[index]!;
        sample.offset = offset;
        offset += sample.size;
      }
    }
  }
  if (index !== count) throw new DirectUnsupported('stsc and stco do not place every sample');
  return samples;
}

/**
 * The samples of a fragmented file, one `moof` at a time from `position` on (skipping `sidx`, `mdat`,
 * `free`…). The track's decode time runs on from fragment to fragment when a `tfdt` is missing.
 */
function fragmentReader(
  source: ByteSource,
  position: number,
  trackId: number,
  defaults: TrackDefaults,
): () => Promise<Mp4Sample[] | undefined> {
  let nextDts = 0;
  return async () => {
    for (;;) {
      const box = await readTopBox(source, position);
      if (box === undefined) return undefined;
      const moofPosition = position;
      position += box.size;
      if (box.type !== 'moof') continue;
      const moof = new Reader(await readExactly(source, moofPosition, box.size));
      const samples: Mp4Sample[] = [];
      // Without base-data-offset or default-base-is-moof, a traf's data follows the previous one's.
      let previousDataEnd = moofPosition;
      for (const traf of moof.children(box.headerSize, box.size)) {
        if (traf.type !== 'traf') continue;
        const parts = moof.children(traf.start, traf.end);
        const tfhd = parts.find((part) => part.type === 'tfhd');
        if (tfhd === undefined) throw new DirectUnsupported('traf without tfhd');
        const tfhdFlags = moof.u32(tfhd.start) & 0xffffff;
        if (moof.u32(tfhd.start + 4) !== trackId) continue;
        let at = tfhd.start + 8;
        let base = tfhdFlags & 0x20000 ? moofPosition : previousDataEnd;
        if (tfhdFlags & 0x1) {
          base = moof.u64(at);
          at += 8;
        }
        let descriptionIndex = defaults.sampleDescriptionIndex;
        if (tfhdFlags & 0x2) {
          descriptionIndex = moof.u32(at);
          at += 4;
        }
        if (descriptionIndex !== 1) throw new DirectUnsupported('several sample descriptions in use');
        let defaultDuration = defaults.duration;
        let defaultSize = defaults.size;
        let defaultFlags = defaults.flags;
        if (tfhdFlags & 0x8) {
          defaultDuration = moof.u32(at);
          at += 4;
        }
        if (tfhdFlags & 0x10) {
          defaultSize = moof.u32(at);
          at += 4;
        }
        if (tfhdFlags & 0x20) defaultFlags = moof.u32(at);
        const tfdt = parts.find((part) => part.type === 'tfdt');
        if (tfdt !== undefined) {
          nextDts = moof.u8(tfdt.start) === 1 ? moof.u64(tfdt.start + 4) : moof.u32(tfdt.start + 4);
        }
        let dataPosition = base;
        for (const trun of parts) {
          if (trun.type !== 'trun') continue;
          const version = moof.u8(trun.start);
          const flags = moof.u32(trun.start) & 0xffffff;
          const sampleCount = moof.u32(trun.start + 4);
          let cursor = trun.start + 8;
          if (flags & 0x1) {
            dataPosition = base + moof.i32(cursor);
            cursor += 4;
          }
          let firstFlags: number | undefined;
          if (flags & 0x4) {
            firstFlags = moof.u32(cursor);
            cursor += 4;
          }
          for (let index = 0; index < sampleCount; index++) {
            let duration = defaultDuration;
            let size = defaultSize;
            let sampleFlags = index === 0 && firstFlags !== undefined ? firstFlags : defaultFlags;
            let ctsOffset = 0;
            if (flags & 0x100) {
              duration = moof.u32(cursor);
              cursor += 4;
            }
            if (flags & 0x200) {
              size = moof.u32(cursor);
              cursor += 4;
            }
            if (flags & 0x400) {
              sampleFlags = moof.u32(cursor);
              cursor += 4;
            }
            if (flags & 0x800) {
              ctsOffset = version === 0 ? moof.u32(cursor) | 0 : moof.i32(cursor);
              cursor += 4;
            }
            samples.push({
              dts: nextDts,
              duration,
              ctsOffset,
              size,
              offset: dataPosition,
              sync: (sampleFlags & nonSyncFlag) === 0,
            });
            nextDts += duration;
            dataPosition += size;
          }
        }
        previousDataEnd = dataPosition;
      }
      if (samples.length > 0) return samples;
    }
  };
}
