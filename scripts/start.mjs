// `npm start`: until the example server exists, this runs what exists: it checks the external programs
// NexStream needs, shows how @nexstream/core reads pasted links, and says what is coming. It becomes
// `examples/server` when that lands.
import { parseInput } from '@nexstream/core';
import { locateProgram } from '@nexstream/core/node';

console.log('NexStream: checking the external programs');
let ok = true;
for (const name of ['ffmpeg', 'ffprobe', 'yt-dlp']) {
  try {
    const program = await locateProgram(name);
    console.log(`  ${name.padEnd(8)} ${program.version.padEnd(18)} ${program.path} (from ${program.source})`);
  } catch (error) {
    ok = false;
    console.log(`  ${name.padEnd(8)} missing: ${error.message}`);
  }
}

console.log('\nNexStream: reading pasted input with parseInput (@nexstream/core)');
const samples = [
  'https://open.spotify.com/intl-de/track/4cOdK2wGLETKBW3PvgPWqT?si=1a2b3c4d5e6f4a7b',
  'https://music.apple.com/us/album/never-gonna-give-you-up/1558533900?i=1558534271',
  'Check this out https://youtu.be/dQw4w9WgXcQ?si=Nq3x9cX0bLrKq2Wv !',
  'https://www.deezer.com/fr/track/781592622',
  'https://deezer.page.link/3VX7TqaFnNtWzELd9',
  'GB-DUW-00-00059',
  'rick astley   never gonna give you up',
  'https://example.com/song/1',
];
for (const sample of samples) {
  let result;
  try {
    const ref = parseInput(sample);
    result =
      ref.type === 'platform'
        ? `${ref.platform} ${ref.kind} ${ref.id}${ref.albumId ? ` (album ${ref.albumId})` : ''}${ref.region ? ` [${ref.region}]` : ''}`
        : ref.type === 'redirect'
          ? `${ref.platform} short link: follow ${ref.url}`
          : ref.type === 'isrc'
            ? `ISRC ${ref.isrc}`
            : `search "${ref.query}"`;
  } catch (error) {
    result = `${error.code}: ${error.message}`;
  }
  console.log(`  ${sample}\n    → ${result}`);
}

console.log(
  '\nThe example server and web app (resolve a link, download, run a live channel) are not built yet;' +
    '\n`npm start` will start them when they land. See README.md for what each package holds today.',
);
process.exit(ok ? 0 : 1);
