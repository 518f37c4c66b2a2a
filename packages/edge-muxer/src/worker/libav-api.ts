/**
 * The part of libav.js's API (6.10, `noworker` mode) the remux uses. Declared here rather than imported:
 * the variants' `exports` map lists `types` last, so TypeScript never finds their `.d.ts`, and the worker
 * loads libav.js at run time from `libavBaseUrl` anyway (the files stay replaceable, LGPL). @internal
 */
export interface LibavInstance {
  HEAPU8: Uint8Array;
  AVERROR_EOF: number;
  EAGAIN: number;
  AVMEDIA_TYPE_VIDEO: number;
  AVMEDIA_TYPE_AUDIO: number;
  onblockread?: (name: string, position: number, length: number) => void;
  onwrite?: (name: string, position: number, data: Uint8Array | Int8Array) => void;
  mkblockreaderdev(name: string, sizeBytes: number): Promise<void>;
  ff_block_reader_dev_send_sync(
    name: string,
    position: number,
    data: Uint8Array | null,
    options?: { errorCode?: number; error?: unknown },
  ): void;
  mkstreamwriterdev(name: string, mode?: number): Promise<void>;
  ff_init_demuxer_file(name: string): Promise<[number, LibavStream[]]>;
  ff_init_muxer(
    options: { format_name: string; filename: string; open: boolean; codecpars: boolean },
    streams: Array<[number, number, number]>,
  ): Promise<[number, number, number, number[]]>;
  av_opt_set(object: number, name: string, value: string, searchFlags: number): Promise<number>;
  avformat_write_header(context: number, options: number): Promise<number>;
  av_write_trailer(context: number): Promise<number>;
  ff_free_muxer(context: number, io: number): Promise<void>;
  avformat_close_input_js(context: number): Promise<void>;
  av_packet_alloc(): Promise<number>;
  av_packet_free_js(packet: number): Promise<void>;
  av_packet_rescale_ts_js_sync(
    packet: number,
    fromNum: number,
    fromDen: number,
    toNum: number,
    toDen: number,
  ): void;
  AVPacket_stream_index_s_sync(packet: number, index: number): void;
  AVPacket_dts_sync(packet: number): number;
  AVPacket_dtshi_sync(packet: number): number;
  AVPacket_pts_sync(packet: number): number;
  AVPacket_ptshi_sync(packet: number): number;
  AVPacket_size_sync(packet: number): number;
  AVPacket_stream_index_sync(packet: number): number;
  av_packet_unref_sync(packet: number): void;
  av_interleaved_write_frame_sync(context: number, packet: number): number;
  /**
   * Emscripten's `ccall`: a plain return value when the call ran to the end, a promise when it suspended
   * (Asyncify: the demuxer waited for input).
   */
  ccall(
    name: string,
    returnType: 'number',
    argTypes: Array<'number'>,
    args: number[],
  ): number | Promise<number>;
  /** The exception a device callback (onblockread) reported; libav.js calls then fail with -11. */
  fsThrownError: unknown;
  AVFormatContext_streams_a(context: number, index: number): Promise<number>;
  AVFormatContext_duration(context: number): Promise<number>;
  AVFormatContext_durationhi(context: number): Promise<number>;
  AVStream_time_base_num(stream: number): Promise<number>;
  AVStream_time_base_den(stream: number): Promise<number>;
  AVStream_discard_s(stream: number, value: number): Promise<void>;
  AVCodecParameters_bit_rate(codecpar: number): Promise<number>;
  avcodec_get_name(codecId: number): Promise<string>;
  ff_error(code: number): Promise<string>;
  av_log_set_level(level: number): Promise<void>;
  i64tof64(low: number, high: number): number;
  AV_NOPTS_VALUE: number;
  malloc(bytes: number): Promise<number>;
  free(pointer: number): Promise<void>;
  copyin_u8(pointer: number, data: Uint8Array): Promise<void>;
  /** Sets a key in `dictionary` (0: a new one) and returns the dictionary (libav.js's wrapper of av_dict_set). */
  av_dict_set_js(dictionary: number, key: string, value: string, flags: number): Promise<number>;
  AVFormatContext_metadata(context: number): Promise<number>;
  AVFormatContext_metadata_s(context: number, dictionary: number): Promise<void>;
  AVStream_metadata(stream: number): Promise<number>;
  AVStream_metadata_s(stream: number, dictionary: number): Promise<void>;
  avcodec_parameters_alloc(): Promise<number>;
  avcodec_parameters_free_js(codecpar: number): Promise<void>;
  AVCodecParameters_codec_type_s(codecpar: number, type: number): Promise<void>;
  AVCodecParameters_extradata_s(codecpar: number, pointer: number): Promise<void>;
  AVCodecParameters_extradata_size_s(codecpar: number, bytes: number): Promise<void>;
  terminate(): void;
}

/** A stream as `ff_init_demuxer_file` describes it. @internal */
export interface LibavStream {
  ptr: number;
  index: number;
  codecpar: number;
  codec_type: number;
  codec_id: number;
  time_base_num: number;
  time_base_den: number;
  duration: number;
}

/** The module a libav.js loader (`libav-<version>-<variant>.mjs`) exports by default. @internal */
export interface LibavLoader {
  LibAV(options: { noworker: true; base: string; variant: string }): Promise<LibavInstance>;
}
