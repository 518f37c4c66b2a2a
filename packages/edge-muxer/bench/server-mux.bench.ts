/**
 * Server mux figures, H.264 + AAC into fragmented MP4 by stream copy, 7 interleaved runs each (medians):
 * - `ratio_vs_ffmpeg_cli`: `muxOnServer` against the plain ffmpeg command (`ffmpeg -i video -i audio -c copy
 *   … -f mp4 pipe:1`) on the same origin URLs (the testkit media origin, in its own process like a CDN);
 * - `ratio_vs_ffmpeg_cli_via_tunnel`: the same with our inputs read through the tunnel;
 * - `ratio_vs_ffmpeg_cli_throttled`: both on an origin limited to 4 MB/s per connection (one run each);
 * - `ttfb_ms`: from calling `muxOnServer` (inputs through the tunnel) to the first output byte.
 * Prints one JSON object as its last line.
 * Run: npx turbo run build --filter=@nexstream/edge-muxer... --filter=@nexstream/testkit && npm run bench:server-mux -w @nexstream/edge-muxer
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTunnel, locateProgram } from '@nexstream/core/node';
import { muxOnServer } from '@nexstream/edge-muxer/server';
import { sampleMedia } from '@nexstream/testkit';

const runs = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function round(value: number, digits = 2): number {
  return Number(value.toFixed(digits));
}

console.log('preparing samples (cached after the first run)…');
const videoPath = await sampleMedia('h264-video-mp4', { durationS: 180, width: 1280, height: 720, gopS: 2 });
const audioPath = await sampleMedia('aac-audio-m4a', { durationS: 180 });
const shortVideoPath = await sampleMedia('h264-video-mp4', {
  durationS: 60,
  width: 1280,
  height: 720,
  gopS: 2,
});
const shortAudioPath = await sampleMedia('aac-audio-m4a', { durationS: 60 });
const inputBytes = (await stat(videoPath)).size + (await stat(audioPath)).size;
const shortInputBytes = (await stat(shortVideoPath)).size + (await stat(shortAudioPath)).size;
const ffmpeg = await locateProgram('ffmpeg');
const throttleBytesPerSecond = 4_000_000;

// The origins run in their own process, as a CDN would: this process then does what a NexStream server
// does (tunnel, ffmpeg's output), the same in both pipelines. One origin is unthrottled, the other gives
// each connection 4 MB/s (a CDN's per-connection limit).
const originCode = `
  import { startMediaOrigin } from '@nexstream/testkit';
  const [video, audio, shortVideo, shortAudio, rate] = process.argv.slice(1);
  const fast = await startMediaOrigin();
  const slow = await startMediaOrigin({ throttleBytesPerSecond: Number(rate) });
  console.log(JSON.stringify({
    video: fast.add('video.mp4', video), audio: fast.add('audio.m4a', audio),
    slowVideo: slow.add('video.mp4', shortVideo), slowAudio: slow.add('audio.m4a', shortAudio),
  }));
  process.stdin.on('end', () => Promise.all([fast.close(), slow.close()]).then(() => process.exit(0)));
  process.stdin.resume();
`;
const originProcess = spawn(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    originCode,
    videoPath,
    audioPath,
    shortVideoPath,
    shortAudioPath,
    String(throttleBytesPerSecond),
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const origins = await new Promise<Record<'video' | 'audio' | 'slowVideo' | 'slowAudio', string>>(
  (resolve, reject) => {
    originProcess.stdout.once('data', (line: Buffer) => resolve(JSON.parse(String(line))));
    originProcess.once('exit', (code) => reject(new Error(`the origin process exited with ${code}`)));
  },
);
const { video: videoUrl, audio: audioUrl } = origins;
const tunnel = createTunnel({
  secret: randomBytes(32),
  allowedHosts: ['127.0.0.1:*'],
  allowLoopback: true,
  lookupMedia: async (_mediaId, formatId) => ({ url: origins[formatId as keyof typeof origins] }),
});
const server = createServer((req, res) => void tunnel.handle(req, res));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const tunnelBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tunnel/`;

async function ours(
  video: string,
  audio: string,
): Promise<{ seconds: number; ttfbMs: number; bytes: number }> {
  const started = performance.now();
  const stream = await muxOnServer({ video, audio, container: 'mp4', metadata: { title: 'bench' } });
  let ttfbMs = Number.NaN;
  let bytes = 0;
  for await (const piece of stream as AsyncIterable<Buffer>) {
    if (bytes === 0) ttfbMs = performance.now() - started;
    bytes += piece.byteLength;
  }
  await stream.done;
  return { seconds: (performance.now() - started) / 1000, ttfbMs, bytes };
}

function cli(video: string, audio: string): Promise<{ seconds: number; bytes: number }> {
  const started = performance.now();
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-i',
    video,
    '-i',
    audio,
    '-map',
    '0:v:0',
    '-map',
    '1:a:0',
    '-c',
    'copy',
    '-movflags',
    'frag_keyframe+empty_moov+default_base_moof',
    '-f',
    'mp4',
    'pipe:1',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg.path, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    child.stdout.on('data', (piece: Buffer) => {
      bytes += piece.byteLength;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve({ seconds: (performance.now() - started) / 1000, bytes })
        : reject(new Error(`ffmpeg exited ${code}`)),
    );
  });
}

try {
  const cliSeconds: number[] = [];
  const tunnelSeconds: number[] = [];
  const directSeconds: number[] = [];
  const ttfb: number[] = [];
  let outputBytes = 0;
  for (let run = 0; run < runs; run += 1) {
    const plain = await cli(videoUrl, audioUrl);
    cliSeconds.push(plain.seconds);
    const throughTunnel = await ours(
      tunnelBase + tunnel.mintToken({ mediaId: 'bench', formatId: 'video' }),
      tunnelBase + tunnel.mintToken({ mediaId: 'bench', formatId: 'audio' }),
    );
    tunnelSeconds.push(throughTunnel.seconds);
    ttfb.push(throughTunnel.ttfbMs);
    const direct = await ours(videoUrl, audioUrl);
    directSeconds.push(direct.seconds);
    outputBytes = throughTunnel.bytes;
    console.log(
      `run ${run + 1}: cli ${plain.seconds.toFixed(3)} s, ours via tunnel ${throughTunnel.seconds.toFixed(3)} s ` +
        `(first byte ${throughTunnel.ttfbMs.toFixed(0)} ms), ours direct ${direct.seconds.toFixed(3)} s`,
    );
  }
  const throttledCli = await cli(origins.slowVideo, origins.slowAudio);
  const throttledOurs = await ours(
    tunnelBase + tunnel.mintToken({ mediaId: 'bench', formatId: 'slowVideo' }),
    tunnelBase + tunnel.mintToken({ mediaId: 'bench', formatId: 'slowAudio' }),
  );
  console.log(
    `throttled (${throttleBytesPerSecond / 1e6} MB/s per connection, ${(shortInputBytes / 1e6).toFixed(1)} MB): ` +
      `cli ${throttledCli.seconds.toFixed(2)} s, ours via tunnel ${throttledOurs.seconds.toFixed(2)} s`,
  );
  console.log(
    JSON.stringify({
      input_mb: round(inputBytes / 1e6, 1),
      output_mb: round(outputBytes / 1e6, 1),
      job: 'H.264 720p 180 s + AAC -> fragmented MP4, stream copy, output drained in memory',
      note: 'ratio_vs_ffmpeg_cli: muxOnServer vs the plain command on the same origin URLs; _via_tunnel adds our tunnel hop (loopback, CPU-bound on this box); _throttled: both on a 4 MB/s-per-connection origin',
      runs,
      ffmpeg_cli_s_median: round(median(cliSeconds), 3),
      ours_via_tunnel_s_median: round(median(tunnelSeconds), 3),
      ours_direct_s_median: round(median(directSeconds), 3),
      ratio_vs_ffmpeg_cli: round(median(cliSeconds) / median(directSeconds)),
      ratio_vs_ffmpeg_cli_via_tunnel: round(median(cliSeconds) / median(tunnelSeconds)),
      throttled_input_mb: round(shortInputBytes / 1e6, 1),
      throttled_bytes_per_second_per_connection: throttleBytesPerSecond,
      throttled_ffmpeg_cli_s: round(throttledCli.seconds),
      throttled_ours_via_tunnel_s: round(throttledOurs.seconds),
      ratio_vs_ffmpeg_cli_throttled: round(throttledCli.seconds / throttledOurs.seconds),
      ratio_target: 0.9,
      ttfb_ms: round(median(ttfb), 0),
      ttfb_target_ms: 500,
    }),
  );
} finally {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await tunnel.close();
  originProcess.stdin.end();
  await new Promise((resolve) => originProcess.once('exit', resolve));
}
