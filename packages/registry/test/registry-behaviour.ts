import { NexStreamError } from '@nexstream/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../src/index.js';
import { sampleMatch, sampleMatchInput, testNow } from './fixtures.js';

/** How a suite gets its registry: opened once for the suite, closed (and cleaned up) after it. */
export interface RegistryTarget {
  open(options: { now: () => number }): Promise<Registry>;
  cleanup?(): Promise<void>;
}

/** Rejects with a NexStreamError of this code (and returns it for further checks). */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<NexStreamError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(NexStreamError.is(error), `expected a NexStreamError ${code}, got ${String(error)}`).toBe(true);
  expect((error as NexStreamError).code).toBe(code);
  return error as NexStreamError;
}

/**
 * The behavioural suite every kind of database passes: embedded file, `:memory:`, sqld over HTTP and
 * WebSocket, an embedded replica. `series` keeps its ISRCs apart from other suites on the same server.
 */
export function describeRegistryBehaviour(name: string, series: number, target: RegistryTarget): void {
  describe(`registry behaviour: ${name}`, () => {
    let registry: Registry;
    const clock = testNow;
    let next = 0;
    const fresh = () => {
      next += 1;
      return next;
    };

    beforeAll(async () => {
      registry = await target.open({ now: () => clock });
    });

    afterAll(async () => {
      await registry?.close();
      await target.cleanup?.();
    });

    it('returns the track, its platform ids and current links from one look-up by any key', async () => {
      const index = fresh();
      const match = sampleMatch(series, index);
      await registry.put(match);
      const byIsrc = await registry.get({ isrc: match.track.isrc });
      expect(byIsrc?.track).toEqual(match.track);
      expect(byIsrc?.track.ids).toEqual(match.track.ids);
      expect(byIsrc?.media).toEqual(match.media);
      expect(byIsrc?.media.formats.map((format) => format.url)).toEqual(
        match.media.formats.map((format) => format.url),
      );
      expect(byIsrc?.link).toEqual({
        expiresAt: match.media.expiresAt,
        refreshedAt: clock,
        refreshFailures: 0,
        dropped: false,
      });
      expect(byIsrc?.verification).toEqual({ method: 'isrc-search', isrcSource: 'deezer' });
      expect(byIsrc?.verifiedAt).toBe(match.verifiedAt);

      const keys = [
        { platform: 'spotify' as const, id: match.track.ids.spotify as string },
        { platform: 'deezer' as const, id: match.track.ids.deezer as string },
        { platform: 'apple' as const, id: match.track.ids.apple as string },
        { platform: 'youtube' as const, id: match.media.id.slice('youtube:'.length) },
        { mediaId: match.media.id },
        { isrc: `${match.track.isrc.slice(0, 2).toLowerCase()}-${match.track.isrc.slice(2)}` },
      ];
      for (const key of keys) {
        const entry = await registry.get(key);
        expect(entry?.track.isrc, JSON.stringify(key)).toBe(match.track.isrc);
        expect(entry?.media.id).toBe(match.media.id);
      }
    });

    it('answers undefined for keys it does not know', async () => {
      const unknown = sampleMatch(series, 900_000 + fresh());
      expect(await registry.get({ isrc: unknown.track.isrc })).toBeUndefined();
      expect(
        await registry.get({ platform: 'spotify', id: unknown.track.ids.spotify as string }),
      ).toBeUndefined();
      expect(await registry.get({ mediaId: unknown.media.id })).toBeUndefined();
      expect(await registry.get({ isrc: 'not an isrc' })).toBeUndefined();
    });

    it('rejects a key of no known kind with NXS_INVALID_INPUT', async () => {
      await expectCode(registry.get({ platform: 'tidal', id: '1' } as never), 'NXS_INVALID_INPUT');
      await expectCode(registry.get({} as never), 'NXS_INVALID_INPUT');
    });

    it('upserts idempotently: the same match twice is one mapping', async () => {
      const index = fresh();
      const before = await registry.stats();
      await registry.put(sampleMatch(series, index));
      await registry.put(sampleMatch(series, index));
      const after = await registry.stats();
      expect(after.tracks - before.tracks).toBe(1);
      expect(after.media - before.media).toBe(1);
      expect(after.platformIds - before.platformIds).toBe(4);
    });

    it('replaces the media of an ISRC and re-points a platform id, without serving stale cache entries', async () => {
      const index = fresh();
      const first = sampleMatch(series, index);
      await registry.put(first);
      expect((await registry.get({ mediaId: first.media.id }))?.track.isrc).toBe(first.track.isrc);
      expect((await registry.get({ isrc: first.track.isrc }))?.media.id).toBe(first.media.id);

      const second = sampleMatch(series, index, {
        video: series * 1_000_000 + 500_000 + index,
        title: 'Renamed',
      });
      await registry.put(second);
      const entry = await registry.get({ isrc: first.track.isrc });
      expect(entry?.media.id).toBe(second.media.id);
      expect(entry?.track.title).toBe('Renamed');
      expect(await registry.get({ mediaId: first.media.id })).toBeUndefined();

      // The Spotify id of `first` now belongs to another ISRC.
      const other = sampleMatch(series, fresh(), { spotify: series * 1_000_000 + index });
      await registry.put(other);
      expect(
        (await registry.get({ platform: 'spotify', id: first.track.ids.spotify as string }))?.track.isrc,
      ).toBe(other.track.isrc);
    });

    it('writes a putMany batch in one go, and nothing of a batch that holds an unverified match', async () => {
      const indexes = [fresh(), fresh(), fresh()];
      const matches = indexes.map((index) => sampleMatch(series, index));
      const before = await registry.stats();
      await registry.putMany(matches);
      expect((await registry.stats()).tracks - before.tracks).toBe(3);
      for (const match of matches)
        expect((await registry.get({ isrc: match.track.isrc }))?.media.id).toBe(match.media.id);

      const good = sampleMatch(series, fresh());
      const forged = sampleMatchInput(series, fresh());
      const error = await expectCode(registry.putMany([good, forged as never]), 'NXS_UNVERIFIED_MATCH');
      expect(error.message).toContain('createVerifiedMatch');
      expect(await registry.get({ isrc: good.track.isrc })).toBeUndefined();
      expect(await registry.get({ isrc: forged.track.isrc })).toBeUndefined();
    });

    it('rejects a forged match carrying the brand but a wrong ISRC with NXS_UNVERIFIED_MATCH', async () => {
      const input = sampleMatchInput(series, fresh());
      const forged = { ...input, track: { ...input.track, isrc: 'XX-123' } };
      Object.defineProperty(forged, Symbol.for('@nexstream/registry/VerifiedMatch'), { value: true });
      const error = await expectCode(registry.put(forged as never), 'NXS_UNVERIFIED_MATCH');
      expect(error.message).toContain('track.isrc');
      expect(await registry.get({ mediaId: input.media.id })).toBeUndefined();
    });

    it('lists links that expire within the window, soonest first, and keeps later ones out', async () => {
      const soon = sampleMatch(series, fresh(), { expiresAt: clock - 10_000 - 3 * 86_400_000 });
      const sooner = sampleMatch(series, fresh(), { expiresAt: clock - 20_000 - 3 * 86_400_000 });
      const later = sampleMatch(series, fresh(), { expiresAt: clock + 30 * 86_400_000 });
      await registry.putMany([soon, sooner, later]);
      const due = await registry.dueForRefresh({ within: 60_000, limit: 1000 });
      const ids = due.map((link) => link.mediaId);
      expect(ids.indexOf(sooner.media.id)).toBeGreaterThanOrEqual(0);
      expect(ids.indexOf(sooner.media.id)).toBeLessThan(ids.indexOf(soon.media.id));
      expect(ids).not.toContain(later.media.id);
      expect(due.find((link) => link.mediaId === soon.media.id)).toEqual({
        mediaId: soon.media.id,
        pageUrl: soon.media.pageUrl,
        expiresAt: soon.media.expiresAt,
        refreshFailures: 0,
      });
    });

    it('stores refreshed links, counts failed refreshes and drops a link after the last allowed failure', async () => {
      const expired = clock - 5 * 86_400_000;
      const match = sampleMatch(series, fresh(), { expiresAt: expired });
      await registry.put(match);
      const dueBefore = await registry.dueForRefresh({ within: 0, limit: 1000 });
      expect(dueBefore.map((link) => link.mediaId)).toContain(match.media.id);

      const renewedAt = clock + 6 * 3_600_000;
      const formats = match.media.formats.map((format) => ({
        ...format,
        url: `${format.url}&renewed=1`,
        expiresAt: renewedAt,
      }));
      expect(await registry.recordRefresh(match.media.id, { ok: true, formats })).toEqual({
        refreshFailures: 0,
        dropped: false,
      });
      const refreshed = await registry.get({ isrc: match.track.isrc });
      expect(refreshed?.media.formats.map((format) => format.url)).toEqual(
        formats.map((format) => format.url),
      );
      expect(refreshed?.link.expiresAt).toBe(renewedAt);
      const dueAfter = await registry.dueForRefresh({ within: 0, limit: 1000 });
      expect(dueAfter.map((link) => link.mediaId)).not.toContain(match.media.id);

      expect(await registry.recordRefresh(match.media.id, { ok: false, reason: 'HTTP 403' })).toEqual({
        refreshFailures: 1,
        dropped: false,
      });
      expect((await registry.get({ isrc: match.track.isrc }))?.link.refreshFailures).toBe(1);
      expect(await registry.recordRefresh(match.media.id, { ok: false, reason: 'HTTP 403' })).toEqual({
        refreshFailures: 2,
        dropped: false,
      });
      expect(
        await registry.recordRefresh(match.media.id, { ok: false, reason: 'video unavailable' }),
      ).toEqual({
        refreshFailures: 3,
        dropped: true,
      });
      const dropped = await registry.get({ isrc: match.track.isrc });
      expect(dropped?.link).toMatchObject({ dropped: true, expiresAt: undefined, refreshFailures: 3 });
      expect(dropped?.media.formats).toEqual([]);
      expect(dropped?.track.isrc).toBe(match.track.isrc);
      const dueDropped = await registry.dueForRefresh({ within: 365 * 86_400_000, limit: 1000 });
      expect(dueDropped.map((link) => link.mediaId)).not.toContain(match.media.id);
    });

    it('drops a link on request and says when no mapping uses the media', async () => {
      const match = sampleMatch(series, fresh());
      await registry.put(match);
      expect(await registry.dropLink(match.media.id, { reason: 'taken down' })).toBe(true);
      expect((await registry.get({ mediaId: match.media.id }))?.link.dropped).toBe(true);
      const unknown = sampleMatch(series, 900_000 + fresh());
      expect(await registry.dropLink(unknown.media.id)).toBe(false);
      await expectCode(registry.recordRefresh(unknown.media.id, { ok: false, reason: 'x' }), 'NXS_NOT_FOUND');
      await expectCode(
        registry.recordRefresh(match.media.id, {
          ok: true,
          formats: [{ id: '18', container: 'mp4', url: 'https://example.com/v', expiresAt: 1_767_225_600 }],
        }),
        'NXS_INVALID_INPUT',
      );
    });

    it('reports counts, schema version and database size', async () => {
      const stats = await registry.stats();
      expect(stats.tracks).toBeGreaterThan(0);
      expect(stats.media).toBeGreaterThan(0);
      expect(stats.platformIds).toBeGreaterThanOrEqual(stats.tracks);
      expect(stats.links.live + stats.links.expired + stats.links.dropped).toBe(stats.media);
      expect(stats.links.dropped).toBeGreaterThan(0);
      expect(stats.databaseSizeBytes).toBeGreaterThan(0);
      expect(stats.schemaVersion).toBe(1);
      expect(stats.writes.failed).toBe(0);
      expect(stats.writes.completed).toBeGreaterThan(0);
    });
  });
}
