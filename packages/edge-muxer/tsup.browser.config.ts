import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.js';

/**
 * The `./worker` and `./sw` scripts are loaded by URL (`new Worker(url)`, `serviceWorker.register(url)`),
 * so each must be one self-contained browser file: everything bundled (`@nexstream/core` too), no
 * splitting. libav.js is NOT bundled: the worker imports it at run time from `libavBaseUrl` (LGPL-2.1,
 * the files must stay replaceable).
 */
export default defineConfig(
  packageBuild(
    { worker: 'src/worker/mux-worker.ts', sw: 'src/sw/download-sw.ts' },
    {
      outDir: 'dist/browser',
      clean: false,
      platform: 'browser',
      target: 'es2022',
      splitting: false,
      noExternal: [/.*/],
      external: [],
      esbuildOptions(options) {
        options.conditions = ['@nexstream/source', 'browser', 'import', 'default'];
      },
    },
  ),
);
