import type { ResolvedMedia } from '@nexstream/core';
import { describe, expect, it } from 'vitest';
import { createMediaHandles } from './media-handles.js';

const media = (id: string, url: string): ResolvedMedia => ({
  id,
  platform: 'generic',
  pageUrl: `http://127.0.0.1:9/watch/${id}`,
  title: 'Song',
  formats: [
    {
      id: 'v1',
      container: 'mp4',
      videoCodec: 'avc1.64001e',
      url,
      headers: { 'User-Agent': 'yt-dlp', Cookie: 'secret=1' },
      sizeBytes: 1234,
      expiresAt: 1_900_000_000_000,
      manifestUrl: 'http://127.0.0.1:9/manifest.mpd',
    } as ResolvedMedia['formats'][number],
  ],
});

describe('media handles (the resolver’s recent media)', () => {
  it('gives clients the media without origin URLs, headers or manifests, and the server the origin of a format', async () => {
    const handles = createMediaHandles({ capacity: 10 });
    handles.remember(media('generic:a', 'http://127.0.0.1:9/a.mp4?sig=1'), {
      title: 'Song',
      artists: ['Artist'],
      ids: {},
    });
    const handle = await handles.get('generic:a');
    expect(JSON.stringify(handle.media)).not.toMatch(/sig=1|secret|manifest|User-Agent/);
    expect(handle.media.formats[0]).toMatchObject({ id: 'v1', sizeBytes: 1234, videoCodec: 'avc1.64001e' });
    expect(handle.track?.artists).toEqual(['Artist']);
    expect(handle.origin('v1')).toMatchObject({
      url: 'http://127.0.0.1:9/a.mp4?sig=1',
      headers: { Cookie: 'secret=1' },
      sizeBytes: 1234,
      expiresAt: 1_900_000_000_000,
    });
    expect(() => handle.origin('nope')).toThrow(expect.objectContaining({ code: 'NXS_NOT_FOUND' }));
  });

  it('refreshes an unverified media by extracting it again under the same id and track', async () => {
    const extracted: string[] = [];
    const handles = createMediaHandles({
      capacity: 10,
      reExtract: async (held) => {
        extracted.push(held.pageUrl);
        return { ...media('generic:other-id-from-the-page', 'http://127.0.0.1:9/a.mp4?sig=2') };
      },
    });
    handles.remember(media('generic:a', 'http://127.0.0.1:9/a.mp4?sig=1'), {
      title: 'Song',
      artists: ['A'],
      ids: {},
    });
    const fresh = await (await handles.get('generic:a')).refresh();
    expect(extracted).toEqual(['http://127.0.0.1:9/watch/generic:a']);
    expect(fresh.mediaId).toBe('generic:a');
    expect(fresh.track?.artists).toEqual(['A']);
    expect(fresh.origin('v1').url).toMatch(/sig=2/);
    expect((await handles.get('generic:a')).origin('v1').url).toMatch(/sig=2/);
  });

  it('answers NXS_NOT_FOUND for media it never handed out, and forgets the oldest beyond its capacity', async () => {
    const handles = createMediaHandles({ capacity: 2 });
    await expect(handles.get('youtube:abcdefghijk')).rejects.toMatchObject({ code: 'NXS_NOT_FOUND' });
    for (const id of ['generic:1', 'generic:2', 'generic:3'])
      handles.remember(media(id, `http://127.0.0.1:9/${id}`));
    await expect(handles.get('generic:1')).rejects.toMatchObject({ code: 'NXS_NOT_FOUND' });
    expect((await handles.get('generic:3')).mediaId).toBe('generic:3');
    // Media without formats (a seeder's skipped extraction) is not a download.
    handles.remember({ ...media('generic:4', 'http://x'), formats: [] });
    await expect(handles.get('generic:4')).rejects.toMatchObject({ code: 'NXS_NOT_FOUND' });
  });

  it('cannot refresh without a way to extract', async () => {
    const handles = createMediaHandles({ capacity: 2 });
    handles.remember(media('generic:a', 'http://127.0.0.1:9/a.mp4'));
    await expect((await handles.get('generic:a')).refresh()).rejects.toMatchObject({
      code: 'NXS_DEPENDENCY_MISSING',
    });
  });
});
