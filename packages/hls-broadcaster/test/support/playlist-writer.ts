// Child process for the "kill during a playlist write" test: saves a growing playlist as fast as it can
// until it is killed. Prints one line after every save.

import { emptyPlaylistDocument } from '../../src/playlist.js';
import { createPlaylistStore } from '../../src/playlist-store.js';

const path = process.argv[2] as string;
const store = createPlaylistStore(path);
const document = emptyPlaylistDocument();
let round = 0;
for (;;) {
  round += 1;
  document.revision = round;
  document.items.push({
    id: `item-${round}`,
    filename: `file-${round}.mp4`,
    originalName: `x`.repeat(2000),
    sizeBytes: round,
    durationMs: 1000,
    probe: {
      container: 'mp4',
      durationMs: 1000,
      videoCodec: 'h264',
      width: 1,
      height: 1,
      fps: 1,
      audioChannels: 0,
      audioSampleRateHz: 0,
    },
    addedAt: new Date().toISOString(),
  });
  await store.save(document);
  process.stdout.write(`saved ${round}\n`);
}
