import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // examples/web has no tests of its own: its end-to-end tests run in examples/server (real server + Chromium).
    projects: [
      'packages/*',
      'examples/server',
      // Repository-level checks (the release pack check).
      { test: { name: 'release', include: ['test/**/*.test.ts'], environment: 'node' } },
    ],
    // The machine has 2 cores; ffmpeg and Chromium tests need one of them each.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
  },
});
