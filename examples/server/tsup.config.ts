import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.js';

/**
 * The server runs from `dist/`: `main.js` (the program) and `index.js` (startServer for scripts and tests).
 * The testkit is only loaded in fixtures mode (a dynamic import), so it stays external like every dependency.
 */
export default defineConfig(
  packageBuild(
    { main: 'src/main.ts', index: 'src/index.ts' },
    { platform: 'node', dts: false, external: ['@libsql/client', 'libsql', /^node:/, '@nexstream/testkit'] },
  ),
);
