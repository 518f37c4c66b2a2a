import type { Options } from 'tsup';

/**
 * The one tsup setup every package uses: ESM with `.d.ts` and source maps, one output file per entry
 * (so `dist/` mirrors the `exports` map), native libSQL packages left external.
 */
export function packageBuild(entry: Record<string, string>, overrides: Options = {}): Options {
  return {
    entry,
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node22',
    platform: 'neutral',
    splitting: true,
    treeshake: true,
    // Keep `node:` specifiers as written: bundlers and Deno need them to tell built-ins from packages.
    removeNodeProtocol: false,
    external: ['@libsql/client', 'libsql', /^node:/],
    ...overrides,
  };
}
