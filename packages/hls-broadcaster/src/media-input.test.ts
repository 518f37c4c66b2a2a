import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleMedia } from '@nexstream/testkit';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type HostilePlaylists,
  withoutWhitelists,
  writeHostilePlaylists,
} from '../test/support/hostile-playlists.js';
import { type DecoderSource, decoderArguments, normalizeForCopy, startDecoder } from './decoder.js';
import {
  defaultAllowedContainers,
  isAllowedContainer,
  mediaInputArguments,
  resolveAllowedContainers,
} from './media-input.js';
import { createFfprobeProber, probeArguments, verificationArguments } from './prober.js';
import { resolveProfile } from './profile.js';

const profile = resolveProfile({ width: 160, height: 90, fps: 15 });

/** Runs a decoder to its end; resolves with its exit and how many bytes it wrote. */
async function runDecoder(source: DecoderSource) {
  const decoder = startDecoder('ffmpeg', source, profile);
  let bytes = 0;
  decoder.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  const exit = await decoder.closed;
  return { exit, bytes };
}

const item = (path: string): Extract<DecoderSource, { kind: 'item' }> => ({
  kind: 'item',
  path,
  startMs: 0,
  durationMs: 2000,
  hasAudio: true,
});

describe('media input allow-list (real ffprobe and ffmpeg 5.1)', () => {
  let directory: string;
  let clip: string;
  let attack: HostilePlaylists;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'nxs-media-input-'));
    clip = await sampleMedia('h264-aac-mp4', { durationS: 4, width: 320, height: 180, fps: 25 });
    attack = await writeHostilePlaylists(directory, clip);
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('allows the single-file media demuxers and refuses to configure demuxers that open other files', () => {
    expect(isAllowedContainer('mov,mp4,m4a,3gp,3g2,mj2')).toBe(true);
    expect(isAllowedContainer('matroska,webm')).toBe(true);
    expect(isAllowedContainer('mpegts')).toBe(true);
    for (const name of ['hls', 'concat', 'image2', 'tty', 'lavfi', 'png_pipe', 'mp3', 'unknown']) {
      expect(isAllowedContainer(name), name).toBe(false);
    }
    expect(mediaInputArguments()).toEqual([
      '-protocol_whitelist',
      'file',
      '-format_whitelist',
      defaultAllowedContainers.join(','),
    ]);
    for (const list of [['hls'], ['mov', 'concat'], ['mov,hls'], ['dash'], []]) {
      expect(() => resolveAllowedContainers(list), JSON.stringify(list)).toThrow(
        expect.objectContaining({ code: 'NXS_INVALID_INPUT' }),
      );
    }
    expect(resolveAllowedContainers(['mov', 'mp4'])).toEqual(['mov', 'mp4']);
  });

  it('refuses an HLS playlist named .mp4 at the ffprobe layer, though plain ffprobe reads it as hls', async () => {
    // The attack: without the whitelists ffprobe accepts the playlist and follows its file:// entry.
    const plain = await execa('ffprobe', [
      ...withoutWhitelists(probeArguments(attack.hlsPath)).slice(0, -1),
      attack.hlsPath,
    ]);
    const parsed = JSON.parse(plain.stdout) as { format: { format_name: string }; streams: unknown[] };
    expect(parsed.format.format_name).toBe('hls');
    expect(parsed.streams.length).toBeGreaterThan(0);

    const guarded = await execa('ffprobe', probeArguments(attack.hlsPath), { reject: false });
    expect(guarded.exitCode).not.toBe(0);
    expect(guarded.stderr).toMatch(/\[hls @ [^\]]+\] Format not on whitelist/);

    const failure = await createFfprobeProber()
      .probe(attack.hlsPath)
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({
      code: 'NXS_UNSUPPORTED_MEDIA',
      message: 'not playable media: it is an HLS playlist, not a media file',
      details: { reason: 'container-not-allowed', container: 'hls' },
    });
    // The program's stderr is kept for logs as the cause, never in the message.
    expect(String((failure as Error).cause)).toMatch(/not on whitelist/);

    await expect(createFfprobeProber().probe(attack.concatPath)).rejects.toMatchObject({
      details: { reason: 'container-not-allowed', container: 'concat' },
      message: expect.stringMatching(/ffconcat playlist, not a media file/),
    });
  });

  it('refuses the playlist in both ffmpeg verification passes, which would otherwise read the local file', async () => {
    const passes = verificationArguments(attack.hlsPath);
    for (const args of [passes.demux, passes.decode]) {
      const unguarded = await execa('ffmpeg', withoutWhitelists(args), { reject: false });
      expect(unguarded.exitCode).toBe(0);
      const guarded = await execa('ffmpeg', args, { reject: false });
      expect(guarded.exitCode).not.toBe(0);
      expect(guarded.stderr).toMatch(/Format not on whitelist/);
    }
    // A real MP4 passes both with the same options.
    const good = verificationArguments(clip);
    expect((await execa('ffmpeg', good.demux, { reject: false })).exitCode).toBe(0);
    expect((await execa('ffmpeg', good.decode, { reject: false })).exitCode).toBe(0);
  });

  it('stops a playout decoder from playing a playlist stored by an older version: no byte comes out', async () => {
    // Control: the same decoder arguments without the whitelists broadcast the local file.
    const unguarded = await execa(
      'ffmpeg',
      withoutWhitelists(decoderArguments(item(attack.hlsPath), profile)),
      {
        reject: false,
        encoding: 'buffer',
      },
    );
    expect(unguarded.exitCode).toBe(0);
    expect(unguarded.stdout.length).toBeGreaterThan(10_000);

    const refused = await runDecoder(item(attack.hlsPath));
    expect(refused.exit.exitCode).not.toBe(0);
    expect(refused.bytes).toBe(0);
    expect(refused.exit.stderrTail).toMatch(/Format not on whitelist/);
    const concat = await runDecoder(item(attack.concatPath));
    expect(concat.bytes).toBe(0);

    // The operator's slate image is read under -protocol_whitelist file (not format-fenced: it is image2).
    const image = join(directory, 'slate.png');
    await execa('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=s=160x90',
      '-frames:v',
      '1',
      image,
    ]);
    const slate = await runDecoder({ kind: 'slate', durationMs: 500, imagePath: image });
    expect(slate.exit.exitCode).toBe(0);
    expect(slate.bytes).toBeGreaterThan(10_000);

    // The decoder writes to `pipe:1` and reads lavfi silence: neither needs a protocol on the list.
    const played = await runDecoder({ ...item(clip), hasAudio: false });
    expect(played.exit.exitCode).toBe(0);
    expect(played.bytes).toBeGreaterThan(10_000);
  });

  it('refuses the playlist when normalizing for copy playout, writing nothing and naming no path', async () => {
    const output = join(directory, 'normalized.ts');
    const failure = await normalizeForCopy('ffmpeg', item(attack.hlsPath), profile, output).catch(
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({
      code: 'NXS_UNSUPPORTED_MEDIA',
      details: { reason: 'normalize-failed' },
    });
    expect((failure as Error).message).not.toContain(directory);
    expect(await stat(output).catch(() => undefined)).toBeUndefined();
  });

  it('keeps even an allowed playlist demuxer on local files: -protocol_whitelist file refuses http', async () => {
    let requests = 0;
    const secret = await readFile(attack.secretPath);
    const server: Server = createServer((_request, response) => {
      requests += 1;
      response.writeHead(200, { 'content-type': 'video/mp2t' }).end(secret);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const remote = join(directory, 'remote.m3u8');
      const { port } = server.address() as AddressInfo;
      await writeFile(
        remote,
        `#EXTM3U\n#EXT-X-TARGETDURATION:5\n#EXTINF:4.0,\nhttp://127.0.0.1:${port}/secret.ts\n#EXT-X-ENDLIST\n`,
      );
      const read = (args: string[]) =>
        execa(
          'ffmpeg',
          ['-v', 'error', ...args, '-i', remote, '-map', '0', '-c', 'copy', '-f', 'null', '-'],
          {
            reject: false,
          },
        );
      // Control: when http is allowed, reading the playlist fetches the URL. (ffmpeg 5.1 already limits
      // nested opens from a local file to file,crypto,data by default; the explicit option also drops those.)
      expect((await read(['-protocol_whitelist', 'file,http,tcp'])).exitCode).toBe(0);
      expect(requests).toBeGreaterThan(0);
      requests = 0;
      const guarded = await read(mediaInputArguments(['hls', 'mpegts']));
      expect(guarded.exitCode).not.toBe(0);
      expect(guarded.stderr).toMatch(/Protocol 'http' not on whitelist 'file'/);
      expect(requests).toBe(0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
