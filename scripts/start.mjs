// `npm start`: until the example server exists, this runs what exists: it checks the external programs
// NexStream needs and says what is coming. It becomes `examples/server` when that lands.
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
console.log(
  '\nThe example server and web app (resolve a link, download, run a live channel) are not built yet;' +
    '\n`npm start` will start them when they land. See README.md for what each package holds today.',
);
process.exit(ok ? 0 : 1);
