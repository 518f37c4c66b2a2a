/**
 * The format every item is normalized to and the channel encodes: one resolution, frame rate and audio
 * layout, so item boundaries are invisible to the encoder.
 */
export interface ChannelProfile {
  /** Output width in pixels (even). Default 1280. */
  width: number;
  /** Output height in pixels (even). Default 720. */
  height: number;
  /** Output frame rate (integer frames per second). Default 30. */
  fps: number;
  /** H.264 target bitrate in kbit/s. Default 3000. */
  videoBitrateKbps: number;
  /** AAC bitrate in kbit/s. Default 128. */
  audioBitrateKbps: number;
  /** x264 preset. Default `veryfast`. */
  x264Preset: string;
  /** HLS segment duration in seconds; keyframes are forced on every boundary. Default 2. */
  segmentDurationS: number;
  /** Segments kept in the live playlist (sliding window). Default 10. */
  listSize: number;
  /**
   * `transcode` (default): every item is decoded and the channel encodes live (about a third of a core at
   * 720p30). `copy`: items are normalized once at ingest to this profile (H.264 + AAC, a keyframe every
   * segment, length rounded up to whole segments) and played out by stream copy, so a running channel
   * costs almost no CPU. In copy mode a live edit (jump, remove, pause) lands on the next keyframe and the
   * segment around it can last up to two segment durations.
   */
  playout: 'transcode' | 'copy';
  /**
   * An optional ladder of extra renditions (transcode playout only), for example a 360p variant next to
   * the 720p one: the encoder then writes one media playlist per rendition (`index_<n>.m3u8`) and
   * `index.m3u8` becomes the master playlist, so players adapt. The first rendition is the profile itself
   * (`width`/`height`/`videoBitrateKbps`); list only the others. Empty by default.
   */
  renditions: Rendition[];
}

/** One extra variant of the ladder. */
export interface Rendition {
  /** Width in pixels (even). */
  width: number;
  /** Height in pixels (even). */
  height: number;
  /** H.264 target bitrate in kbit/s. */
  videoBitrateKbps: number;
}

/** Audio is always normalized to 48 kHz stereo (the intermediate stream carries it as SMPTE 302M PCM). */
export const channelAudioSampleRateHz = 48_000;

/** The default 720p30 profile. */
export const defaultChannelProfile: Readonly<ChannelProfile> = {
  width: 1280,
  height: 720,
  fps: 30,
  videoBitrateKbps: 3000,
  audioBitrateKbps: 128,
  x264Preset: 'veryfast',
  segmentDurationS: 2,
  listSize: 10,
  playout: 'transcode',
  renditions: [],
};

/** Fills defaults and checks a partial profile. */
export function resolveProfile(partial: Partial<ChannelProfile> = {}): ChannelProfile {
  const profile = { ...defaultChannelProfile, ...partial };
  const even = (value: number) => Math.max(2, Math.round(value / 2) * 2);
  profile.width = even(profile.width);
  profile.height = even(profile.height);
  profile.fps = Math.max(1, Math.round(profile.fps));
  profile.listSize = Math.max(3, Math.round(profile.listSize));
  if (!/^[a-z]+$/.test(profile.x264Preset)) profile.x264Preset = 'veryfast';
  if (profile.playout !== 'copy') profile.playout = 'transcode';
  profile.renditions =
    profile.playout === 'copy'
      ? []
      : (profile.renditions ?? []).map((rendition) => ({
          width: even(rendition.width),
          height: even(rendition.height),
          videoBitrateKbps: Math.max(50, Math.round(rendition.videoBitrateKbps)),
        }));
  return profile;
}

/**
 * The H.264 settings every encode in a channel shares (the normalizing decoders, copy-mode ingest and the
 * live encoder), so segments cut cleanly wherever they are made: 4:2:0, constant bitrate with a 2× buffer,
 * a closed GOP of `gopFrames` frames with no scene-cut keyframes, and a keyframe forced at every segment
 * boundary (`segmentDurationS`).
 */
export function x264SegmentArguments(profile: ChannelProfile, gopFrames: number): string[] {
  return [
    '-pix_fmt',
    'yuv420p',
    '-b:v',
    `${profile.videoBitrateKbps}k`,
    '-maxrate',
    `${profile.videoBitrateKbps}k`,
    '-bufsize',
    `${profile.videoBitrateKbps * 2}k`,
    '-g',
    String(gopFrames),
    '-keyint_min',
    String(gopFrames),
    '-sc_threshold',
    '0',
    '-force_key_frames',
    `expr:gte(t,n_forced*${profile.segmentDurationS})`,
  ];
}
