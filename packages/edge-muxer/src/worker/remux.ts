import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import { type ByteSource, windowBytesFor } from '../byte-source.js';
import { assertCodecFits, type MuxContainer, muxerNames } from '../container.js';
import type { CoverImage, TextTags } from '../metadata.js';
import type { MuxPhase } from '../protocol.js';
import type { LibavInstance, LibavStream } from './libav-api.js';

/** One input of {@link remux}: a started byte source and the kind of stream to take from it. @internal */
export interface RemuxInput {
  role: 'video' | 'audio';
  /** The block-reader device name (unique per job). */
  deviceName: string;
  /** A label for messages (URL without query). */
  label: string;
  source: ByteSource;
  /** Left out, instead of failing the job, when the file has no stream of this kind (a one-file job). */
  optional?: boolean;
}

/** What {@link remux} needs besides libav.js and the inputs. @internal */
export interface RemuxOptions {
  container: MuxContainer;
  /** Media time read per demuxer call, in seconds (the byte limit is derived from each input's bitrate). */
  windowSeconds: number;
  /**
   * Receives the output in order; awaited (backpressure). Chunks are owned copies, never wasm views; a
   * chunk may be a view on a larger buffer that nobody else uses (transfer `chunk.buffer` freely).
   */
  write(chunk: Uint8Array): Promise<void>;
  onPhase(phase: MuxPhase): void;
  isCancelled(): boolean;
  /**
   * Filled with where the time went (milliseconds; counts for `blockReads`, `inputWaits`, `windows`,
   * `asyncReads`, `packets`, `outputChunks`, `writeErrors`): diagnostics for the benchmark.
   */
  timings?: Record<string, number>;
  /**
   * Tags for Matroska/WebM output, written by libavformat (MP4 output is tagged on its way out, the same
   * way for both writers: see `mp4-tags.ts`).
   */
  tags?: TextTags;
  /** The cover, attached to MKV output (Matroska attachment `cover.jpg`/`cover.png`). */
  cover?: CoverImage;
}

interface OpenInput extends RemuxInput {
  context: number;
  stream: LibavStream;
  outputIndex: number;
  outputTimeBase: [number, number];
  limitBytes: number;
  lastTimeS: number;
  ended: boolean;
}

const avDiscardAll = 48;
const avOptSearchChildren = 1;
const fragmentedMp4Flags = 'frag_keyframe+empty_moov+default_base_moof';

/**
 * The libav.js stream copy: block-reader devices in, one demuxer per input, the muxer out through a
 * stream-writer device. Copies ~`windowSeconds` of media at a time from whichever input is furthest
 * behind in time (byte-sized reads break interleaving), packet by packet from `av_read_frame` to
 * `av_interleaved_write_frame` with each packet rescaled to its output stream's time base (decision
 * 0077: no `ff_read_frame_multi`/`ff_write_multi`, whose per-packet promises, clones and copies cost more
 * than the muxing). @internal
 */
export async function remux(
  libav: LibavInstance,
  inputs: RemuxInput[],
  options: RemuxOptions,
): Promise<void> {
  const byDevice = new Map(inputs.map((input) => [input.deviceName, input]));
  const timings = options.timings ?? {};
  const add = (key: string, since: number) => {
    timings[key] = (timings[key] ?? 0) + (performance.now() - since);
  };
  const count = (key: string) => {
    timings[key] = (timings[key] ?? 0) + 1;
  };
  libav.onblockread = (name, position) => {
    count('blockReads');
    const input = byDevice.get(name);
    if (input === undefined) {
      libav.ff_block_reader_dev_send_sync(name, position, null, {
        error: new Error(`unknown device ${name}`),
      });
      return;
    }
    const ready = input.source.peek(position);
    if (ready !== undefined) {
      libav.ff_block_reader_dev_send_sync(name, position, ready);
      return;
    }
    count('inputWaits');
    const waitStarted = performance.now();
    input.source.read(position).then(
      (data) => {
        add('inputWaitMs', waitStarted);
        libav.ff_block_reader_dev_send_sync(name, position, data.length === 0 ? null : data);
      },
      (error: unknown) => libav.ff_block_reader_dev_send_sync(name, position, null, { error }),
    );
  };

  // Output of one demuxer step, copied once out of wasm memory into a buffer that is then handed over
  // (transferred) as is. Sized from the previous step, so it rarely grows and little is zero-filled.
  let pending = new Uint8Array(256 * 1024);
  let pendingBytes = 0;
  libav.onwrite = (_name, _position, data) => {
    const started = performance.now();
    // In noworker mode `data` is a view into wasm memory that the next write reuses: copy it out.
    if (pendingBytes + data.byteLength > pending.length) {
      const grown = new Uint8Array(Math.max(pending.length * 2, pendingBytes + data.byteLength));
      grown.set(pending.subarray(0, pendingBytes));
      pending = grown;
    }
    pending.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pendingBytes);
    pendingBytes += data.byteLength;
    add('onwriteMs', started);
  };
  const flush = async () => {
    if (pendingBytes === 0) return;
    const chunk = pending.subarray(0, pendingBytes);
    pending = new Uint8Array(Math.max(64 * 1024, Math.ceil(pendingBytes * 1.25)));
    pendingBytes = 0;
    const started = performance.now();
    await options.write(chunk);
    add('outputMs', started);
    count('outputChunks');
  };

  options.onPhase('probing');
  const opened: OpenInput[] = [];
  let muxer: { context: number; io: number } | undefined;
  const packets: number[] = [];
  try {
    for (const input of inputs) {
      const open = await openInput(libav, input, options, opened.length);
      if (open !== undefined) opened.push(open);
    }
    if (opened.length === 0) {
      throw new NexStreamError(
        NexStreamErrorCode.UnsupportedMedia,
        `the input ${inputs[0]?.label ?? ''} has neither a video nor an audio stream`,
      );
    }
    await libav.mkstreamwriterdev('out');
    // An MKV cover is an attachment stream after the media streams: its bytes are the codec parameters'
    // extradata, its name and type are stream tags (libavformat's matroska muxer writes Attachments).
    const attachment =
      options.container === 'mkv' && options.cover !== undefined
        ? await attachmentParameters(libav, options.cover)
        : undefined;
    let context: number;
    let io: number;
    let outputStreams: number[];
    try {
      [context, , io, outputStreams] = await libav.ff_init_muxer(
        { format_name: muxerNames[options.container], filename: 'out', open: true, codecpars: true },
        [
          ...opened.map((input): [number, number, number] => [
            input.stream.codecpar,
            input.stream.time_base_num,
            input.stream.time_base_den,
          ]),
          ...(attachment === undefined ? [] : [[attachment, 1, 1000] as [number, number, number]]),
        ],
      );
    } finally {
      if (attachment !== undefined) await libav.avcodec_parameters_free_js(attachment);
    }
    muxer = { context, io };
    if (options.container === 'mp4' || options.container === 'm4a') {
      await libav.av_opt_set(context, 'movflags', fragmentedMp4Flags, avOptSearchChildren);
    }
    if (options.container === 'mkv' || options.container === 'webm') {
      const tags = options.tags ?? {};
      // libavformat keeps `title` out of Matroska Tags and writes it as the segment title (Info/Title),
      // which is what players show; the other keys become SimpleTags under their own (upper-case) names.
      await setDictionary(libav, context, 'format', [
        ['title', tags.title],
        ['ARTIST', tags.artist],
        ['ALBUM', tags.album],
        ['DATE_RELEASED', tags.date],
      ]);
      if (attachment !== undefined && options.cover !== undefined) {
        const extension = options.cover.mimeType === 'image/png' ? 'png' : 'jpg';
        await setDictionary(libav, outputStreams[opened.length]!, 'stream', [
          ['filename', `cover.${extension}`],
          ['mimetype', options.cover.mimeType],
        ]);
      }
    }
    const headerResult = await libav.avformat_write_header(context, 0);
    if (headerResult < 0) {
      throw new NexStreamError(
        NexStreamErrorCode.UnsupportedMedia,
        `the ${options.container} muxer refused the streams: ${await libav.ff_error(headerResult)}`,
      );
    }
    for (const input of opened) {
      const outputStream = outputStreams[input.outputIndex]!;
      input.outputTimeBase = [
        await libav.AVStream_time_base_num(outputStream),
        await libav.AVStream_time_base_den(outputStream),
      ];
    }
    await flush();

    options.onPhase('muxing');
    const packet = await libav.av_packet_alloc();
    packets.push(packet);
    for (;;) {
      if (options.isCancelled())
        throw new NexStreamError(NexStreamErrorCode.Aborted, 'the mux job was cancelled');
      let next: OpenInput | undefined;
      for (const input of opened) {
        if (!input.ended && (next === undefined || input.lastTimeS < next.lastTimeS)) next = input;
      }
      if (next === undefined) break;
      const result = await copyWindow(libav, next, context, packet, timings);
      count('windows');
      await flush();
      if (result === libav.AVERROR_EOF) next.ended = true;
      else if (result < 0 && result !== -libav.EAGAIN) {
        throw new NexStreamError(
          NexStreamErrorCode.UnsupportedMedia,
          `the ${next.role} input ${next.label} could not be read at ${next.lastTimeS.toFixed(2)} s: ${await libav.ff_error(result)}`,
        );
      }
    }

    options.onPhase('finishing');
    const trailerResult = await libav.av_write_trailer(context);
    if (trailerResult < 0) {
      throw new NexStreamError(
        NexStreamErrorCode.Internal,
        `the ${options.container} muxer failed to write its trailer: ${await libav.ff_error(trailerResult)}`,
      );
    }
    await flush();
  } finally {
    libav.onblockread = undefined;
    libav.onwrite = undefined;
    await release(libav, opened, muxer, packets);
  }
}

/** What libav.js's `av_read_frame` wrapper returns for an exception thrown by a device callback. */
const deviceErrorResult = -11;

/**
 * Copies about one window of `input` (its `limitBytes`, counted over every packet read, like
 * `ff_read_frame_multi`'s `limit`) straight from the demuxer into the muxer: `av_read_frame`, rescale to
 * the output stream's time base, `av_interleaved_write_frame`, one packet at a time with one reused
 * AVPacket. `av_read_frame` is called through `ccall`, which returns a plain number when the demuxer had
 * its bytes and a promise only when it had to wait for input (an Asyncify unwind), so a buffered window
 * costs no promise hop per packet (ff_read_frame_multi takes three) and no clone, copy-in or free. The
 * muxer sees the same packets in the same order as with `ff_read_frame_multi` + `ff_write_multi`, so the
 * output is byte-identical. Resolves with the last `av_read_frame` result (`-EAGAIN` when the window is
 * full). @internal
 */
async function copyWindow(
  libav: LibavInstance,
  input: OpenInput,
  muxerContext: number,
  packet: number,
  timings: Record<string, number>,
): Promise<number> {
  const { context, stream, outputIndex, limitBytes } = input;
  const [outputNum, outputDen] = input.outputTimeBase;
  let bytesRead = 0;
  for (;;) {
    let result = libav.ccall('av_read_frame', 'number', ['number', 'number'], [context, packet]);
    if (typeof result !== 'number') {
      timings.asyncReads = (timings.asyncReads ?? 0) + 1;
      result = await result;
    }
    if (result === deviceErrorResult && libav.fsThrownError) {
      const error = libav.fsThrownError;
      libav.fsThrownError = null;
      throw error;
    }
    if (result < 0) return result;
    bytesRead += libav.AVPacket_size_sync(packet);
    if (libav.AVPacket_stream_index_sync(packet) !== stream.index) {
      libav.av_packet_unref_sync(packet);
    } else {
      let time = libav.i64tof64(libav.AVPacket_dts_sync(packet), libav.AVPacket_dtshi_sync(packet));
      if (time === libav.AV_NOPTS_VALUE) {
        time = libav.i64tof64(libav.AVPacket_pts_sync(packet), libav.AVPacket_ptshi_sync(packet));
      }
      if (time !== libav.AV_NOPTS_VALUE) {
        input.lastTimeS = (time * stream.time_base_num) / stream.time_base_den;
      }
      libav.av_packet_rescale_ts_js_sync(
        packet,
        stream.time_base_num,
        stream.time_base_den,
        outputNum,
        outputDen,
      );
      libav.AVPacket_stream_index_s_sync(packet, outputIndex);
      // Takes the packet's reference: the packet is blank afterwards, ready for the next read. A packet
      // the muxer refuses is dropped, as ff_write_multi did (it ignored the result).
      if (libav.av_interleaved_write_frame_sync(muxerContext, packet) < 0) {
        timings.writeErrors = (timings.writeErrors ?? 0) + 1;
      }
      timings.packets = (timings.packets ?? 0) + 1;
    }
    if (bytesRead >= limitBytes) return -libav.EAGAIN;
  }
}

async function openInput(
  libav: LibavInstance,
  input: RemuxInput,
  options: RemuxOptions,
  outputIndex: number,
): Promise<OpenInput | undefined> {
  await libav.mkblockreaderdev(input.deviceName, input.source.sizeBytes);
  let context: number;
  let streams: LibavStream[];
  try {
    [context, streams] = await libav.ff_init_demuxer_file(input.deviceName);
  } catch (error) {
    if (NexStreamError.is(error)) throw error;
    if (NexStreamError.is(input.source.error)) throw input.source.error;
    throw new NexStreamError(
      NexStreamErrorCode.UnsupportedMedia,
      `the ${input.role} input ${input.label} is not readable media (${error instanceof Error ? error.message : String(error)}): the file is corrupt, truncated or of an unsupported container`,
      { cause: error },
    );
  }
  const wantedType = input.role === 'video' ? libav.AVMEDIA_TYPE_VIDEO : libav.AVMEDIA_TYPE_AUDIO;
  const stream = streams.find((candidate) => candidate.codec_type === wantedType);
  if (stream === undefined) {
    await libav.avformat_close_input_js(context);
    if (input.optional) return undefined;
    throw new NexStreamError(
      NexStreamErrorCode.UnsupportedMedia,
      `the ${input.role} input ${input.label} has no ${input.role} stream`,
    );
  }
  const codecName = await libav.avcodec_get_name(stream.codec_id);
  try {
    assertCodecFits(codecName, options.container);
  } catch (error) {
    await libav.avformat_close_input_js(context);
    throw error;
  }
  for (const other of streams) {
    if (other !== stream) {
      const pointer = await libav.AVFormatContext_streams_a(context, other.index);
      await libav.AVStream_discard_s(pointer, avDiscardAll);
    }
  }
  // Bytes per second from the container duration (µs), else the stream's nominal bit rate.
  const durationUs = libav.i64tof64(
    await libav.AVFormatContext_duration(context),
    await libav.AVFormatContext_durationhi(context),
  );
  let bytesPerSecond = 0;
  if (durationUs > 0 && durationUs !== libav.AV_NOPTS_VALUE) {
    bytesPerSecond = input.source.sizeBytes / (durationUs / 1_000_000);
  } else {
    bytesPerSecond = (await libav.AVCodecParameters_bit_rate(stream.codecpar)) / 8;
  }
  if (!(bytesPerSecond > 0)) bytesPerSecond = 256 * 1024;
  // At least 32 KiB per call: below that (128 kb/s audio in half a second is 8 KB) the fixed cost of a
  // demuxer call dominates; 32 KiB is still only a few seconds of audio, well inside the muxer's
  // interleaving window.
  const limitBytes = Math.max(32 * 1024, Math.round(bytesPerSecond * options.windowSeconds));
  input.source.setWindowBytes(windowBytesFor(bytesPerSecond));
  return {
    ...input,
    context,
    stream,
    outputIndex,
    outputTimeBase: [stream.time_base_num, stream.time_base_den],
    limitBytes,
    lastTimeS: Number.NEGATIVE_INFINITY,
    ended: false,
  };
}

/** AVMEDIA_TYPE_ATTACHMENT. */
const attachmentMediaType = 4;

/** Codec parameters of an attachment stream holding `cover` (free them after `ff_init_muxer` copied them). */
async function attachmentParameters(libav: LibavInstance, cover: CoverImage): Promise<number> {
  const parameters = await libav.avcodec_parameters_alloc();
  await libav.AVCodecParameters_codec_type_s(parameters, attachmentMediaType);
  // libavcodec reads up to 64 bytes past extradata (AV_INPUT_BUFFER_PADDING_SIZE): allocate them, zeroed.
  const data = await libav.malloc(cover.bytes.byteLength + 64);
  await libav.copyin_u8(data, cover.bytes);
  await libav.copyin_u8(data + cover.bytes.byteLength, new Uint8Array(64));
  await libav.AVCodecParameters_extradata_s(parameters, data);
  await libav.AVCodecParameters_extradata_size_s(parameters, cover.bytes.byteLength);
  return parameters;
}

/** Adds the non-empty entries to the metadata dictionary of a format context or a stream. */
async function setDictionary(
  libav: LibavInstance,
  owner: number,
  kind: 'format' | 'stream',
  entries: Array<[string, string | undefined]>,
): Promise<void> {
  const present = entries.filter((entry): entry is [string, string] => Boolean(entry[1]));
  if (present.length === 0) return;
  // libav.js's av_dict_set_js takes the dictionary (0: none yet) and returns it, allocated or grown.
  let dictionary =
    kind === 'format' ? await libav.AVFormatContext_metadata(owner) : await libav.AVStream_metadata(owner);
  for (const [key, value] of present) dictionary = await libav.av_dict_set_js(dictionary, key, value, 0);
  if (kind === 'format') await libav.AVFormatContext_metadata_s(owner, dictionary);
  else await libav.AVStream_metadata_s(owner, dictionary);
}

async function release(
  libav: LibavInstance,
  opened: OpenInput[],
  muxer: { context: number; io: number } | undefined,
  packets: number[],
) {
  const quietly = async (step: () => Promise<unknown>) => {
    try {
      await step();
    } catch {
      // Best effort: the instance is torn down with its Worker anyway.
    }
  };
  for (const packet of packets) await quietly(() => libav.av_packet_free_js(packet));
  if (muxer !== undefined) await quietly(() => libav.ff_free_muxer(muxer.context, muxer.io));
  for (const input of opened) await quietly(() => libav.avformat_close_input_js(input.context));
}
