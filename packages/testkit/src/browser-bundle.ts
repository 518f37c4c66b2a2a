/**
 * Bundles browser entry points from TypeScript sources for tests: ESM, platform browser, everything inlined,
 * workspace packages read from `src/` (the `@nexstream/source` condition), as the packages' own browser builds
 * do. Tests use it so they never run against a stale `dist/`.
 *
 * @param entries - output name → source file path (e.g. `{ worker: '/…/src/worker/mux-worker.ts' }`).
 * @param outDir - where `<name>.js` files are written.
 */
export async function bundleForBrowser(entries: Record<string, string>, outDir: string): Promise<void> {
  // tsup is loaded on first use: most tests never bundle anything.
  const { build } = await import('tsup');
  await build({
    config: false,
    entry: entries,
    outDir,
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    splitting: false,
    sourcemap: false,
    dts: false,
    silent: true,
    noExternal: [/.*/],
    esbuildOptions(options) {
      options.conditions = ['@nexstream/source', 'browser', 'import', 'default'];
    },
  });
}
