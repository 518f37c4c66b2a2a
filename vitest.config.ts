import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*'],
    // The machine has 2 cores; ffmpeg and Chromium tests need one of them each.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
  },
});
