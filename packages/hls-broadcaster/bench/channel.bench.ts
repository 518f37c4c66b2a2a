// Channel benchmark: start-up, edit latency, CPU per channel, and the insta-stream baseline (concat list +
// -stream_loop -1, ffmpeg restarted on every edit). Imports the BUILT package by name. The last line printed
// is one JSON object with the figures (medians).
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBroadcaster } from '@nexstream/hls-broadcaster';
import { childProcessIds, sampleMedia } from '@nexstream/testkit';
import { execa } from 'execa';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
const log = (message: string) => process.stderr.write(`${message}\n`);

const work = await mkdtemp(join(tmpdir(), 'nxs-bench-'));
const ticksPerSecond = 100;

/** CPU seconds used so far by this process's children (live ones from /proc, reaped ones from cutime). */
async function childCpuSeconds(): Promise<number> {
  const fields = async (pid: number | 'self') => {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    return text
      .slice(text.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
  };
  const self = await fields('self');
  let ticks = (self[13] ?? 0) + (self[14] ?? 0); // cutime + cstime (fields 16, 17)
  for (const pid of childProcessIds()) {
    const child = await fields(pid);
    ticks += (child[11] ?? 0) + (child[12] ?? 0); // utime + stime (fields 14, 15)
  }
  return ticks / ticksPerSecond;
}

async function playlistSegments(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.endsWith('.ts'));
}

/** Whether the last frame of a segment is the red clip (R high, G low). */
async function lastFrameIsRed(path: string): Promise<boolean> {
  const result = await execa(
    'ffmpeg',
    ['-v', 'error', '-i', path, '-an', '-vf', 'scale=1:1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { encoding: 'buffer', reject: false },
  );
  // One RGB pixel per frame: look at the last frame.
  const rgb = (result.stdout as Uint8Array).subarray(-3);
  return rgb.length >= 3 && (rgb[0] as number) > 150 && (rgb[1] as number) < 90;
}

/** Milliseconds from `since` until a new playlist entry whose last frame is red appears. */
async function waitForRed(
  directory: string,
  playlistName: string,
  known: Set<string>,
  since: number,
): Promise<number> {
  const checked = new Set(known);
  for (;;) {
    for (const name of await playlistSegments(join(directory, playlistName))) {
      if (checked.has(name)) continue;
      checked.add(name);
      if (await lastFrameIsRed(join(directory, name))) return Date.now() - since;
    }
    if (Date.now() - since > 30_000) throw new Error('the edit never became visible');
    await sleep(50);
  }
}

const profile = { width: 1280, height: 720, fps: 30 };
const clip = await sampleMedia('h264-aac-mp4', { durationS: 6, width: 1280, height: 720, fps: 30 });
const red = join(work, 'red.mp4');
await execa('ffmpeg', [
  '-v',
  'error',
  '-f',
  'lavfi',
  '-i',
  'color=c=red:s=1280x720:r=30',
  '-f',
  'lavfi',
  '-i',
  'sine=f=660:r=48000',
  '-t',
  '6',
  '-ac',
  '2',
  '-c:v',
  'libx264',
  '-preset',
  'veryfast',
  '-g',
  '60',
  '-c:a',
  'aac',
  red,
]);

// --- NexStream channel -------------------------------------------------------------------------------
const broadcaster = createBroadcaster({ dataDir: join(work, 'data'), profile });
const channel = broadcaster.channel('bench');
const normal = await channel.ingest(createReadStream(clip), { originalName: 'clip.mp4' });
const normal2 = await channel.ingest(createReadStream(clip), { originalName: 'clip-2.mp4' });
const redItem = await channel.ingest(createReadStream(red), { originalName: 'red.mp4' });
const indexPath = join(channel.hlsDirectory, channel.playlistName);

const startups: number[] = [];
for (let run = 0; run < 3; run += 1) {
  await channel.jump(normal.id);
  const started = Date.now();
  await channel.start();
  while ((await playlistSegments(indexPath)).length === 0) await sleep(20);
  startups.push((Date.now() - started) / 1000);
  log(`start-up ${run + 1}: ${startups.at(-1)} s`);
  await channel.stop();
}

await channel.reorder([normal.id, normal2.id, redItem.id]);
await channel.jump(normal.id);
await channel.start();
await sleep(8000);
const cpuStart = await childCpuSeconds();
const windowStart = Date.now();
await sleep(12_000);
const cpuTranscode = (await childCpuSeconds()) - cpuStart;
const cpuCoresTranscode = cpuTranscode / ((Date.now() - windowStart) / 1000);
log(`transcode 720p: ${round(cpuCoresTranscode)} cores`);
const transcodeRestarts = channel.status().encoder.restarts;

const edits: number[] = [];
for (let run = 0; run < 5; run += 1) {
  // Back on normal content, then jump to the red clip and wait for it in the playlist.
  const playing = channel.status().item?.id;
  await channel.jump(playing === normal.id ? normal2.id : normal.id);
  await sleep(3000 + run * 370);
  const known = new Set(await playlistSegments(indexPath));
  const since = Date.now();
  await channel.jump(redItem.id);
  edits.push((await waitForRed(channel.hlsDirectory, channel.playlistName, known, since)) / 1000);
  log(`edit ${run + 1}: ${edits.at(-1)} s`);
}
const editDiscontinuities = ((await readFile(indexPath, 'utf8')).match(/#EXT-X-DISCONTINUITY/g) ?? []).length;
await broadcaster.close();

// --- copy playout: items normalized at ingest, played by stream copy ---------------------------------------
const copyBroadcaster = createBroadcaster({
  dataDir: join(work, 'copy-data'),
  profile: { ...profile, playout: 'copy' },
});
const copyChannel = copyBroadcaster.channel('copy');
const normalizeStarted = Date.now();
await copyChannel.ingest(createReadStream(clip), { originalName: 'clip.mp4' });
const normalizeSeconds = (Date.now() - normalizeStarted) / 1000;
await copyChannel.ingest(createReadStream(red), { originalName: 'red.mp4' });
await copyChannel.start();
await sleep(8000);
const copyCpuStart = await childCpuSeconds();
const copyWindowStart = Date.now();
await sleep(12_000);
const cpuCoresCopy = ((await childCpuSeconds()) - copyCpuStart) / ((Date.now() - copyWindowStart) / 1000);
log(
  `copy 720p: ${round(cpuCoresCopy, 4)} cores (normalizing a 6 s clip at ingest took ${normalizeSeconds} s)`,
);
const copyRestarts = copyChannel.status().encoder.restarts;
await copyBroadcaster.close();

// --- insta-stream baseline: concat list + -stream_loop -1, restart on edit ------------------------------
const baselineDirectory = join(work, 'baseline');
await execa('mkdir', ['-p', baselineDirectory]);
const listPath = join(baselineDirectory, 'list.txt');
const baselineArgs = [
  '-hide_banner',
  '-v',
  'error',
  '-re',
  '-stream_loop',
  '-1',
  '-f',
  'concat',
  '-safe',
  '0',
  '-i',
  listPath,
  '-c:v',
  'libx264',
  '-preset',
  'veryfast',
  '-tune',
  'zerolatency',
  '-g',
  '60',
  '-keyint_min',
  '60',
  '-sc_threshold',
  '0',
  '-c:a',
  'aac',
  '-f',
  'hls',
  '-hls_time',
  '2',
  '-hls_list_size',
  '10',
  '-hls_flags',
  'delete_segments+append_list+omit_endlist',
  '-hls_segment_filename',
  join(baselineDirectory, 'seg-%d.ts'),
  join(baselineDirectory, 'index.m3u8'),
];
const writeList = (files: string[]) => writeFile(listPath, files.map((file) => `file '${file}'\n`).join(''));
const baselineIndex = join(baselineDirectory, 'index.m3u8');
// Every segment that ever carried a discontinuity tag, seen by polling the live playlist.
const baselineDiscontinuitySegments = new Set<string>();
let polling = true;
const poller = (async () => {
  while (polling) {
    const lines = (await readFile(baselineIndex, 'utf8').catch(() => '')).split('\n');
    let marked = false;
    for (const line of lines) {
      if (line.startsWith('#EXT-X-DISCONTINUITY')) marked = true;
      else if (line.endsWith('.ts')) {
        if (marked) baselineDiscontinuitySegments.add(line);
        marked = false;
      }
    }
    await sleep(300);
  }
})();
await writeList([clip, clip]);
let baseline = execa('ffmpeg', baselineArgs, { reject: false, stdin: 'ignore' });
const restart = async () => {
  baseline.kill('SIGTERM');
  await baseline;
  baseline = execa('ffmpeg', baselineArgs, { reject: false, stdin: 'ignore' });
};
const baselineEdits: number[] = [];
let baselineRestarts = 0;
for (let run = 0; run < 3; run += 1) {
  await sleep(6000);
  const known = new Set(await playlistSegments(baselineIndex));
  const since = Date.now();
  // The insta-stream way to play another item now: rewrite the concat list and restart ffmpeg.
  await writeList([red, clip]);
  await restart();
  baselineRestarts += 1;
  baselineEdits.push((await waitForRed(baselineDirectory, 'index.m3u8', known, since)) / 1000);
  log(`baseline edit ${run + 1}: ${baselineEdits.at(-1)} s`);
  // And the edit back (so the next measurement starts from normal content): one more restart.
  await writeList([clip, clip]);
  await restart();
  baselineRestarts += 1;
}
await sleep(3000);
polling = false;
await poller;
baseline.kill('SIGTERM');
await baseline;
const baselineDiscontinuities = baselineDiscontinuitySegments.size;
await rm(work, { recursive: true, force: true });

const cores = availableParallelism();
console.log(
  JSON.stringify({
    startup_first_segment_s: round(median(startups)),
    edit_visible_s: round(median(edits)),
    edit_discontinuities: editDiscontinuities,
    cpu_cores_transcode_720p: round(cpuCoresTranscode),
    cpu_cores_copy: round(cpuCoresCopy, 4),
    copy_ingest_normalize_s_per_6s_clip: round(normalizeSeconds),
    channels_720p_on_this_machine: Math.floor((cores * 0.85) / cpuCoresTranscode),
    baseline_edit_visible_s: round(median(baselineEdits)),
    baseline_discontinuities: baselineDiscontinuities,
    baseline_restarts: baselineRestarts,
    machine_cores: cores,
    // Must be 0: a restarting encoder would make the CPU figures meaningless.
    encoder_restarts_during_bench: transcodeRestarts + copyRestarts,
  }),
);
