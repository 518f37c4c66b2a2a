import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.shared.js';

// The entries apps import (`.`, `./server`). The Worker and Service Worker scripts are built for the browser
// by tsup.browser.config.ts into dist/browser/ (run after this one: this one cleans dist/).
export default defineConfig(packageBuild({ index: 'src/index.ts', 'server/index': 'src/server/index.ts' }));
