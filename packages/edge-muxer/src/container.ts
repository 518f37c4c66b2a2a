import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/**
 * The output containers the edge muxer writes. `mkv` is Matroska, `webm` its WebM subset; `m4a` is MP4
 * holding audio only (brand `M4A `, `audio/mp4`), for audio downloads.
 */
export type MuxContainer = 'mp4' | 'm4a' | 'webm' | 'mkv';

/** Every {@link MuxContainer}, in the order messages list them. */
export const muxContainers: readonly MuxContainer[] = ['mp4', 'm4a', 'webm', 'mkv'];

/** Whether a container is one of the MP4 family (ISO-BMFF), written by the direct writer or libav.js's mov muxer. */
export function isMp4Family(container: MuxContainer): container is 'mp4' | 'm4a' {
  return container === 'mp4' || container === 'm4a';
}

/**
 * The libav.js builds the edge muxer loads. `webm` (the smaller, prescribed one) reads and writes
 * Matroska/WebM only; `webcodecs` adds the MP4 demuxer and muxer and the H.264/AAC/VP9/AV1 parsers
 * (parsers only: no H.264 or AAC codec). See decision 0070.
 */
export type LibavVariant = 'webm' | 'webcodecs';

/**
 * Which writer does a job. `auto` (the default): our own MP4 writer (`mp4`) when the output is MP4/M4A and
 * every input is an MP4/M4A it reads (progressive or fragmented, one sample description, clear), else
 * libav.js. `mp4` fails with `NXS_UNSUPPORTED_MEDIA` instead of falling back; `libav` always uses libav.js.
 * See decision 0095.
 */
export type MuxWriter = 'auto' | 'mp4' | 'libav';

/**
 * The old name of {@link MuxWriter}, whose `direct` is now `mp4` ("direct" is a delivery route).
 *
 * @deprecated Use {@link MuxWriter} and the `writer` option.
 */
export type MuxEngine = 'auto' | 'direct' | 'libav';

/** The container family of an input file, told from its first bytes. */
export type InputFamily = 'mp4' | 'matroska' | 'unknown';

/** The libavformat muxer name of each {@link MuxContainer}. */
export const muxerNames: Readonly<Record<MuxContainer, string>> = {
  mp4: 'mp4',
  m4a: 'ipod',
  webm: 'webm',
  mkv: 'matroska',
};

/** The MIME type of each {@link MuxContainer}, for `Content-Type` and save pickers. */
export const containerMimeTypes: Readonly<Record<MuxContainer, string>> = {
  mp4: 'video/mp4',
  m4a: 'audio/mp4',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
};

/** The file extension (with the dot) of each {@link MuxContainer}. */
export const containerExtensions: Readonly<Record<MuxContainer, string>> = {
  mp4: '.mp4',
  m4a: '.m4a',
  webm: '.webm',
  mkv: '.mkv',
};

/** Box types an ISO-BMFF (MP4/M4A/MOV) file can start with. */
const isoBoxTypes = new Set(['ftyp', 'styp', 'moov', 'mdat', 'free', 'skip', 'wide', 'sidx', 'moof']);

/**
 * Tells MP4 from Matroska/WebM by the first bytes of a file (at least 8 are needed): the EBML magic
 * `1A 45 DF A3`, or an ISO box type at offset 4. Returns `unknown` for anything else.
 */
export function sniffInputFamily(head: Uint8Array): InputFamily {
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) {
    return 'matroska';
  }
  if (head.length >= 8) {
    const type = String.fromCharCode(head[4]!, head[5]!, head[6]!, head[7]!);
    if (isoBoxTypes.has(type)) return 'mp4';
  }
  return 'unknown';
}

/**
 * Picks the libav.js variant for a job: `webcodecs` as soon as one input is MP4/M4A or the output is
 * MP4 (the `webm` variant has neither an MP4 demuxer nor an MP4 muxer), `webm` otherwise.
 *
 * @throws NexStreamError `NXS_UNSUPPORTED_MEDIA` when an input is neither MP4 nor Matroska/WebM.
 */
export function chooseLibavVariant(inputs: readonly InputFamily[], container: MuxContainer): LibavVariant {
  const unknown = inputs.indexOf('unknown');
  if (unknown !== -1) {
    throw new NexStreamError(
      NexStreamErrorCode.UnsupportedMedia,
      `input ${unknown + 1} is neither MP4/M4A nor Matroska/WebM (unrecognised first bytes): the edge muxer only remuxes those; use the server muxer for other containers`,
    );
  }
  if (isMp4Family(container) || inputs.includes('mp4')) return 'webcodecs';
  return 'webm';
}

/** Codecs each container accepts from a stream copy; VP9 is kept out of MP4 on purpose (decision 0073). */
const codecsByContainer: Readonly<Record<MuxContainer, ReadonlySet<string> | undefined>> = {
  mp4: new Set(['h264', 'hevc', 'av1', 'aac', 'mp3', 'opus', 'flac', 'ac3', 'eac3', 'alac']),
  // libavformat's ipod muxer (M4A) takes these audio codecs; video never goes into m4a.
  m4a: new Set(['aac', 'alac', 'ac3', 'eac3']),
  webm: new Set(['vp8', 'vp9', 'av1', 'opus', 'vorbis']),
  mkv: undefined,
};

/**
 * Checks that a codec may be stream-copied into a container.
 *
 * @throws NexStreamError `NXS_UNSUPPORTED_MEDIA` naming the codec and the containers that take it.
 */
export function assertCodecFits(codecName: string, container: MuxContainer): void {
  const allowed = codecsByContainer[container];
  if (allowed === undefined || allowed.has(codecName)) return;
  const hint =
    container === 'm4a'
      ? 'm4a holds AAC, ALAC, AC-3 or E-AC-3 audio only: use container "mp4" or "mkv"'
      : codecName === 'vp9'
        ? 'VP9 is never written to MP4 here (the copied vpcC box comes out empty and players reject it): use container "webm" or "mkv"'
        : `use container "mkv", which takes any codec`;
  throw new NexStreamError(
    NexStreamErrorCode.UnsupportedMedia,
    `codec ${codecName} cannot be stream-copied into ${container}: ${hint}`,
    { details: { codec: codecName, container } },
  );
}
