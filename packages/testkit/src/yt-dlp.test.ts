import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { locateProgram } from '@nexstream/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MediaOrigin, startMediaOrigin } from './media-origin.js';
import { sampleDash, sampleMedia } from './sample-media.js';

const run = promisify(execFile);
const small = { durationS: 2, width: 320, height: 180 } as const;

interface YtDlpFormat {
  format_id: string;
  ext: string;
  vcodec?: string;
  acodec?: string;
  width?: number;
  height?: number;
  protocol: string;
}

/** yt-dlp's generic extractor reading the media origin: the way production code sees a CDN in tests. */
describe('the media origin under yt-dlp', () => {
  let origin: MediaOrigin;
  let scratch: string;
  let ytDlp: string;

  beforeAll(async () => {
    ytDlp = (await locateProgram('yt-dlp')).path;
    scratch = await mkdtemp(join(tmpdir(), 'nxs-yt-dlp-'));
    origin = await startMediaOrigin();
  });
  afterAll(async () => {
    await origin.close();
    await rm(scratch, { recursive: true, force: true });
  });

  async function describeUrl(
    url: string,
  ): Promise<{ extractor: string; ext: string; formats: YtDlpFormat[] }> {
    const { stdout } = await run(ytDlp, ['-J', '--no-warnings', '--no-playlist', url], { timeout: 60_000 });
    return JSON.parse(stdout) as { extractor: string; ext: string; formats: YtDlpFormat[] };
  }

  it('reads a direct MP4 and a signed WebM as single formats', async () => {
    const mp4 = origin.add('clip.mp4', await sampleMedia('h264-aac-mp4', small));
    origin.add('clip.webm', await sampleMedia('vp9-opus-webm', small));
    const mp4Info = await describeUrl(mp4);
    expect(mp4Info).toMatchObject({ extractor: 'generic', ext: 'mp4' });
    expect(mp4Info.formats).toEqual([expect.objectContaining({ ext: 'mp4', protocol: 'http' })]);

    const webmInfo = await describeUrl(origin.signedUrl('clip.webm'));
    expect(webmInfo).toMatchObject({ extractor: 'generic', ext: 'webm' });
  });

  it('reads a DASH manifest as separate video and audio formats', async () => {
    const base = origin.addDirectory('dash', await sampleDash({ ...small, durationS: 4 }));
    const info = await describeUrl(`${base}manifest.mpd`);
    const video = info.formats.find((format) => format.vcodec && format.vcodec !== 'none');
    const audio = info.formats.find((format) => format.acodec && format.acodec !== 'none');
    expect(video).toMatchObject({ width: 320, height: 180, acodec: 'none', protocol: 'http_dash_segments' });
    expect(video?.vcodec).toMatch(/^avc1\./);
    expect(audio).toMatchObject({ vcodec: 'none', protocol: 'http_dash_segments' });
    expect(audio?.acodec).toMatch(/^mp4a\./);
  });

  it('downloads a direct file byte for byte', async () => {
    const source = await sampleMedia('aac-audio-m4a', small);
    const url = origin.add('song.m4a', source);
    const target = join(scratch, 'song.m4a');
    await run(ytDlp, ['--no-warnings', '--no-part', '--no-mtime', '-o', target, url], { timeout: 60_000 });
    expect((await readFile(target)).equals(await readFile(source))).toBe(true);
  });
});
