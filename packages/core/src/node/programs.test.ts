import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateProgram, parseVersion, programFreshness } from './programs.js';

describe('locateProgram', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nxs-programs-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('finds the real ffmpeg, ffprobe and yt-dlp on PATH and reads their versions', async () => {
    const ffmpeg = await locateProgram('ffmpeg');
    expect(ffmpeg.source).toBe('path');
    expect(Number.parseInt(ffmpeg.version, 10)).toBeGreaterThanOrEqual(5);
    expect((await locateProgram('ffprobe')).path).toMatch(/ffprobe$/);
    expect((await locateProgram('yt-dlp')).version).toMatch(/^\d{4}\.\d{2}\.\d{2}/);
  });

  it('prefers the option over the env var over PATH', async () => {
    const real = (await locateProgram('ffmpeg')).path;
    const fromEnv = await locateProgram('ffmpeg', { env: { NEXSTREAM_FFMPEG: real, PATH: '' } });
    expect(fromEnv).toMatchObject({ source: 'env', path: real });
    const fromOption = await locateProgram('ffmpeg', { path: real, env: { PATH: '' } });
    expect(fromOption.source).toBe('option');
  });

  it('reports a missing program with NXS_DEPENDENCY_MISSING and how to install it', async () => {
    await expect(locateProgram('yt-dlp', { env: { PATH: scratch } })).rejects.toMatchObject({
      code: 'NXS_DEPENDENCY_MISSING',
      message: expect.stringMatching(/install yt-dlp.*NEXSTREAM_YTDLP/),
    });
    await expect(locateProgram('ffmpeg', { path: join(scratch, 'nope') })).rejects.toMatchObject({
      code: 'NXS_DEPENDENCY_MISSING',
    });
  });

  it('rejects an ffmpeg older than 5', async () => {
    const fake = join(scratch, 'ffmpeg');
    await writeFile(
      fake,
      '#!/bin/sh\necho "ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021"\n',
    );
    await chmod(fake, 0o755);
    await expect(locateProgram('ffmpeg', { path: fake })).rejects.toMatchObject({
      code: 'NXS_DEPENDENCY_MISSING',
      message: expect.stringContaining('too old'),
    });
  });

  it('parses the version lines real builds print', () => {
    expect(parseVersion('ffmpeg', 'ffmpeg version 5.1.9-0+deb12u1 Copyright (c)')).toBe('5.1.9-0+deb12u1');
    expect(parseVersion('ffmpeg', 'ffmpeg version n7.1 Copyright')).toBe('7.1');
    expect(parseVersion('ffprobe', 'ffprobe version N-118000-g1234abcd Copyright')).toBe(
      'N-118000-g1234abcd',
    );
    expect(parseVersion('yt-dlp', '2025.10.22\n')).toBe('2025.10.22');
    expect(parseVersion('yt-dlp', 'garbage')).toBeUndefined();
  });

  it('dates the real yt-dlp, tells how it was installed, and calls a release older than 90 days stale', async () => {
    const ytDlp = await locateProgram('yt-dlp');
    expect(ytDlp.releaseDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(ytDlp.releaseDate?.replaceAll('-', '.')).toBe(ytDlp.version.slice(0, 10));
    expect(['pipx', 'pip', 'standalone', 'distribution', 'unknown']).toContain(ytDlp.installedBy);
    const released = Date.parse(`${ytDlp.releaseDate}T00:00:00Z`);
    const fresh = programFreshness(ytDlp, { now: released + 30 * 86_400_000 });
    expect(fresh).toMatchObject({ ageDays: 30, stale: false, warning: '' });
    const old = programFreshness(ytDlp, { now: released + 400 * 86_400_000 });
    expect(old.stale).toBe(true);
    expect(old.warning).toMatch(/is 400 days old/);
    expect(old.warning).toContain(old.updateCommand);
    // ffmpeg's version names no date: never stale here.
    expect(programFreshness(await locateProgram('ffmpeg')).stale).toBe(false);
  });
});
