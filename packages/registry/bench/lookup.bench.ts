// Registry look-ups and batch writes on an embedded file with 50,000 mappings, next to a bare
// @libsql/client execute of the same query (the reference) and, to show what our layer itself costs,
// a bare prepared statement of libsql's Database (the engine the registry runs embedded files on).
// Wall-clock medians and CPU time per operation (steadier on a shared machine). Prints progress, then as its
// LAST line one JSON object.
//   npx turbo run build --filter=@nexstream/registry... && npm run bench -w @nexstream/registry
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createClient } from '@libsql/client';
import { createRegistry } from '@nexstream/registry';
import { createVerifiedMatch, type VerifiedMatch } from '@nexstream/registry/verification';
import Database from 'libsql';

const mappings = 50_000;
const batchSize = 1000;
const lookups = 20_000;
const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function encode(value: number, length: number, alphabet: string): string {
  let text = '';
  let rest = value;
  for (let index = 0; index < length; index += 1) {
    text = alphabet[rest % alphabet.length] + text;
    rest = Math.floor(rest / alphabet.length);
  }
  return text;
}

/** A realistic mapping: Deezer-shaped track, yt-dlp-shaped video + audio formats with signed googlevideo URLs. */
function match(index: number): VerifiedMatch {
  const video = encode(index * 7919 + 13, 11, base62);
  const expiresAt = Date.now() + 6 * 3_600_000;
  const expire = Math.floor(expiresAt / 1000);
  const signature = encode(index * 104_729, 22, base62).repeat(3);
  const format = (id: string, mime: string) =>
    `https://rr4---sn-4g5ednsz.googlevideo.com/videoplayback?expire=${expire}&ei=${video}AbC&ip=203.0.113.7&id=o-${signature}` +
    `&itag=${id}&source=youtube&requiressl=yes&mime=${mime}&dur=212.400&lmt=1690000000000000&c=ANDROID` +
    `&sparams=expire%2Cei%2Cip%2Cid%2Citag%2Csource%2Crequiressl%2Cmime%2Cdur%2Clmt&sig=AOq0QJ8w${signature}`;
  return createVerifiedMatch({
    track: {
      title: `Song number ${index}`,
      artists: [`Artist ${index % 977}`, `Featured ${index % 31}`],
      album: `Album ${index % 5003}`,
      durationMs: 180_000 + (index % 120_000),
      isrc: `QZ${encode(index % 46_656, 3, base62.slice(0, 36))}${String(index).padStart(7, '0')}`,
      releaseDate: '2022-06-17',
      explicit: index % 7 === 0,
      coverArt: {
        medium: `https://e-cdns-images.dzcdn.net/images/cover/${encode(index, 32, base62.slice(0, 16))}/500x500-000000-80-0-0.jpg`,
      },
      ids: {
        spotify: encode(index * 31 + 7, 22, base62),
        deezer: String(2_000_000_000 + index),
        apple: String(1_600_000_000 + index),
      },
    },
    media: {
      id: `youtube:${video}`,
      platform: 'youtube',
      pageUrl: `https://www.youtube.com/watch?v=${video}`,
      title: `Artist ${index % 977} - Song number ${index} (Official Audio)`,
      channel: `Artist ${index % 977} - Topic`,
      durationMs: 180_000 + (index % 120_000) + 350,
      formats: [
        {
          id: '137',
          container: 'mp4',
          videoCodec: 'avc1.640028',
          width: 1920,
          height: 1080,
          fps: 30,
          bitrateBps: 4_300_000,
          sizeBytes: 114_000_000,
          url: format('137', 'video%2Fmp4'),
          expiresAt,
        },
        {
          id: '140',
          container: 'm4a',
          audioCodec: 'mp4a.40.2',
          bitrateBps: 129_000,
          sampleRateHz: 44_100,
          audioChannels: 2,
          sizeBytes: 3_430_000,
          url: format('140', 'audio%2Fmp4'),
          expiresAt,
        },
      ],
      preferred: { videoFormatId: '137', audioFormatId: '140' },
      expiresAt,
    },
    verification: { method: 'isrc-search', isrcSource: 'deezer' },
  });
}

function percentile(samples: number[], fraction: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] as number;
}
const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const cpuMicroseconds = (before: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(before);
  return used.user + used.system;
};
const microseconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1000;

const directory = mkdtempSync(join(tmpdir(), 'nexstream-registry-bench-'));
const url = pathToFileURL(join(directory, 'registry.db')).href;
try {
  console.log(`building ${mappings} verified matches…`);
  const matches = Array.from({ length: mappings }, (_, index) => match(index));

  // putMany: 50 batches of 1,000 through the write queue, each one transaction.
  const writer = await createRegistry({ url });
  const cpuBefore = process.cpuUsage();
  const writeStart = process.hrtime.bigint();
  for (let start = 0; start < mappings; start += batchSize)
    await writer.putMany(matches.slice(start, start + batchSize));
  const writeSeconds = microseconds(writeStart) / 1e6;
  const writeCpu = process.cpuUsage(cpuBefore);
  const putManyRowsPerS = mappings / writeSeconds;
  const putManyCpuUsPerRow = (writeCpu.user + writeCpu.system) / mappings;
  console.log(`putMany: ${Math.round(putManyRowsPerS)} rows/s (${round(putManyCpuUsPerRow)} µs CPU per row)`);
  const stats = await writer.stats();
  await writer.close();

  // Cold look-ups: the cache off, so every get reads the store. The bare client and the bare prepared
  // statement run the very query the store runs (kept in step with src/libsql-store.ts), interleaved with
  // ours so that load on the machine hits all alike.
  const cold = await createRegistry({ url, cache: false });
  const client = createClient({ url, concurrency: 1 });
  const database = new Database(fileURLToPath(url), { timeout: 0 });
  database.exec('PRAGMA cache_size = -32768');
  const columns =
    'track, media, formats, expires_at, refreshed_at, refresh_failures, verification_method, isrc_source, verified_at';
  const byPlatformId = `SELECT ${columns} FROM mapping WHERE isrc = (SELECT isrc FROM platform_id WHERE platform = ? AND id = ?)`;
  const byIsrc = `SELECT ${columns} FROM mapping WHERE isrc = ?`;
  const statementByPlatformId = database.prepare(byPlatformId).raw(true);
  const statementByIsrc = database.prepare(byIsrc).raw(true);
  const keyOf = (index: number) => matches[index] as VerifiedMatch;
  const random = () => Math.floor(Math.random() * mappings);
  for (let index = 0; index < 2000; index += 1) {
    const m = keyOf(random());
    await cold.get({ platform: 'spotify', id: m.track.ids.spotify as string });
    await client.execute({ sql: byPlatformId, args: ['spotify', m.track.ids.spotify as string] });
    statementByPlatformId.get(['spotify', m.track.ids.spotify as string]);
    await cold.get({ isrc: m.track.isrc });
    await client.execute({ sql: byIsrc, args: [m.track.isrc] });
    statementByIsrc.get([m.track.isrc]);
  }
  const coldPlatform: number[] = [];
  const clientPlatform: number[] = [];
  const coldIsrc: number[] = [];
  const clientIsrc: number[] = [];
  const statementPlatform: number[] = [];
  const statementIsrc: number[] = [];
  for (let index = 0; index < lookups; index += 1) {
    const m = keyOf(random());
    const spotify = m.track.ids.spotify as string;
    const ours = async () => {
      const start = process.hrtime.bigint();
      const entry = await cold.get({ platform: 'spotify', id: spotify });
      coldPlatform.push(microseconds(start));
      if (entry?.track.isrc !== m.track.isrc) throw new Error(`look-up of ${spotify} missed`);
    };
    const bare = async () => {
      const start = process.hrtime.bigint();
      const result = await client.execute({ sql: byPlatformId, args: ['spotify', spotify] });
      clientPlatform.push(microseconds(start));
      if (result.rows.length !== 1) throw new Error('bare look-up missed');
    };
    const statement = async () => {
      const start = process.hrtime.bigint();
      const row = statementByPlatformId.get(['spotify', spotify]);
      statementPlatform.push(microseconds(start));
      if (row === undefined) throw new Error('bare statement missed');
    };
    if (index % 2 === 0) {
      await ours();
      await bare();
      await statement();
    } else {
      await statement();
      await bare();
      await ours();
    }
    const oursIsrc = async () => {
      const start = process.hrtime.bigint();
      const entry = await cold.get({ isrc: m.track.isrc });
      coldIsrc.push(microseconds(start));
      if (entry === undefined) throw new Error(`look-up of ${m.track.isrc} missed`);
    };
    const bareIsrc = async () => {
      const start = process.hrtime.bigint();
      const result = await client.execute({ sql: byIsrc, args: [m.track.isrc] });
      clientIsrc.push(microseconds(start));
      if (result.rows.length !== 1) throw new Error('bare look-up missed');
    };
    if (index % 2 === 0) {
      await oursIsrc();
      await bareIsrc();
    } else {
      await bareIsrc();
      await oursIsrc();
    }
    const statementStart = process.hrtime.bigint();
    statementByIsrc.get([m.track.isrc]);
    statementIsrc.push(microseconds(statementStart));
  }

  // CPU time per look-up by Spotify id: alternating blocks of 1,000, so that each side's CPU is summed over
  // many operations (process.cpuUsage is too coarse for one).
  const cpu = { ours: 0, client: 0, statement: 0 };
  const blockKeys = () => Array.from({ length: 1000 }, () => keyOf(random()).track.ids.spotify as string);
  for (let block = 0; block < 10; block += 1) {
    const keys = blockKeys();
    let before = process.cpuUsage();
    for (const id of keys) await cold.get({ platform: 'spotify', id });
    cpu.ours += cpuMicroseconds(before);
    before = process.cpuUsage();
    for (const id of keys) await client.execute({ sql: byPlatformId, args: ['spotify', id] });
    cpu.client += cpuMicroseconds(before);
    before = process.cpuUsage();
    for (const id of keys) statementByPlatformId.get(['spotify', id]);
    cpu.statement += cpuMicroseconds(before);
  }
  database.close();
  client.close();
  await cold.close();

  // Hot look-ups: 1,000 mappings read once, then read again from the cache.
  const hot = await createRegistry({ url });
  const hotKeys = Array.from({ length: 1000 }, () => keyOf(random()).track.ids.spotify as string);
  for (const id of hotKeys) await hot.get({ platform: 'spotify', id });
  const hotSamples: number[] = [];
  for (let index = 0; index < lookups * 5; index += 1) {
    const id = hotKeys[index % hotKeys.length] as string;
    const start = process.hrtime.bigint();
    await hot.get({ platform: 'spotify', id });
    hotSamples.push(microseconds(start));
  }
  await hot.close();

  const coldP50 = percentile(coldPlatform, 0.5);
  const clientP50 = percentile(clientPlatform, 0.5);
  const result = {
    mappings,
    database_size_bytes: stats.databaseSizeBytes,
    hot_get_p50_us: round(percentile(hotSamples, 0.5)),
    hot_get_p99_us: round(percentile(hotSamples, 0.99)),
    cold_get_p50_us: round(coldP50),
    cold_get_p99_us: round(percentile(coldPlatform, 0.99)),
    client_execute_p50_us: round(clientP50),
    client_execute_p99_us: round(percentile(clientPlatform, 0.99)),
    cold_vs_client_ratio: round(coldP50 / clientP50, 3),
    cold_get_isrc_p50_us: round(percentile(coldIsrc, 0.5)),
    client_execute_isrc_p50_us: round(percentile(clientIsrc, 0.5)),
    cold_vs_client_isrc_ratio: round(percentile(coldIsrc, 0.5) / percentile(clientIsrc, 0.5), 3),
    // What our layer adds over the engine itself: a bare prepared statement of libsql's Database.
    native_statement_p50_us: round(percentile(statementPlatform, 0.5)),
    native_statement_isrc_p50_us: round(percentile(statementIsrc, 0.5)),
    cold_get_cpu_us: round(cpu.ours / 10_000),
    client_execute_cpu_us: round(cpu.client / 10_000),
    native_statement_cpu_us: round(cpu.statement / 10_000),
    cold_vs_client_cpu_ratio: round(cpu.ours / cpu.client, 3),
    put_many_rows_per_s: Math.round(putManyRowsPerS),
    put_many_cpu_us_per_row: round(putManyCpuUsPerRow),
    // Rows per second of CPU time: what one free core achieves; wall-clock rows/s drops when other jobs share it.
    put_many_rows_per_cpu_s: Math.round(1e6 / putManyCpuUsPerRow),
    load_average_1m: round(loadavg()[0] as number),
    put_many_batch_size: batchSize,
    targets: {
      hot_get_p50_us: 5,
      cold_vs_client_ratio: 1.1,
      put_many_rows_per_s: 30_000,
    },
  };
  console.log(JSON.stringify(result));
} finally {
  rmSync(directory, { recursive: true, force: true });
}
