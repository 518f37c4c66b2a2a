// The release check: every public package, packed with `npm pack` and installed from its tarball into a
// scratch ESM project (with the other workspace packages it depends on, also from tarballs), type-checks
// with tsc against the published .d.ts files and imports by name in Node. This is what a user meets.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packCheck } from '../scripts/pack-check.mjs';

const root = join(import.meta.dirname, '..');
const publicPackages = ['core', 'registry', 'resolver', 'edge-muxer', 'hls-broadcaster'];

const source = `import { parseInput, planDelivery, type TrackRef } from '@nexstream/core';
import { createTunnel, locateProgram } from '@nexstream/core/node';
import { createRegistry, type Registry } from '@nexstream/registry';
import { createVerifiedMatch } from '@nexstream/registry/verification';
import { createResolver, scoreCandidate } from '@nexstream/resolver';
import { createDeezerEngine, type VideoEngine } from '@nexstream/resolver/engines';
import { mux, saveStream } from '@nexstream/edge-muxer';
import { muxOnServer } from '@nexstream/edge-muxer/server';
import { createBroadcaster } from '@nexstream/hls-broadcaster';
import { createBroadcasterRouter } from '@nexstream/hls-broadcaster/express';

const ref: TrackRef = parseInput('spotify:track:4cOdK2wGLETKBW3PvgPWqT');
export type Engine = VideoEngine;
const registry: Promise<Registry> = createRegistry({ url: ':memory:' });
export const api = [
  ref, registry, planDelivery, createTunnel, locateProgram, createVerifiedMatch, createDeezerEngine,
  createResolver, scoreCandidate, mux, saveStream, muxOnServer, createBroadcaster, createBroadcasterRouter,
];
`;

const check = `import assert from 'node:assert/strict';
import { parseInput } from '@nexstream/core';
import { createTunnel } from '@nexstream/core/node';
import { createRegistry } from '@nexstream/registry';
import { createResolver, scoreCandidate } from '@nexstream/resolver';
import { createDeezerEngine } from '@nexstream/resolver/engines';
import { mux } from '@nexstream/edge-muxer';
import { muxOnServer } from '@nexstream/edge-muxer/server';
import { createBroadcaster } from '@nexstream/hls-broadcaster';
import { createBroadcasterRouter } from '@nexstream/hls-broadcaster/express';

assert.equal(parseInput('GBDUW0000059').type, 'isrc');
// The native libSQL engine must load from the installed tarballs.
const registry = await createRegistry({ url: ':memory:' });
assert.equal((await registry.stats()).tracks, 0);
await registry.close();
for (const fn of [createTunnel, createResolver, scoreCandidate, createDeezerEngine, mux, muxOnServer, createBroadcaster, createBroadcasterRouter]) {
  assert.equal(typeof fn, 'function');
}
console.log('pack-check ok');
`;

describe('the packed public packages', () => {
  it('install together from their tarballs, type-check with tsc and import by name in Node', async () => {
    const result = await packCheck({
      packageDir: join(root, 'packages/hls-broadcaster'),
      withPackageDirs: publicPackages
        .filter((name) => name !== 'hls-broadcaster')
        .map((name) => join(root, 'packages', name)),
      source,
      check,
      // The edge muxer's root entry is browser code: its types need the DOM library, as in any web app.
      compilerOptions: { lib: ['ES2023', 'DOM', 'DOM.Iterable'] },
    });
    expect(result.output.trim()).toBe('pack-check ok');
    expect(result.files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/express.js', 'README.md']));
  }, 300_000);
});
