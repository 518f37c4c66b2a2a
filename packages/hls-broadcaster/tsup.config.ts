import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.js';

export default defineConfig(
  packageBuild({ index: 'src/index.ts', express: 'src/express.ts', libsql: 'src/libsql.ts' }),
);
