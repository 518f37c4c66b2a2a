// `npm start`: the NexStream product on embedded defaults. After `turbo run build` (the npm script does it),
// this checks the external programs, then starts examples/server, which serves the built web app
// (examples/web/dist), the API and the live channels. Configuration comes from the environment (see
// examples/server/.env.example); with nothing set it keeps its data in ./.nexstream-data and needs no keys.
// `NEXSTREAM_FIXTURES=1 npm start` runs it offline on recorded data (what `npm run demo -w @nexstream/example-server` does).
import { locateProgram, programFreshness } from '@nexstream/core/node';

let missing = 0;
for (const name of ['ffmpeg', 'ffprobe', 'yt-dlp']) {
  try {
    const program = await locateProgram(name);
    console.log(`  ${name.padEnd(8)} ${program.version.padEnd(18)} ${program.path}`);
    const freshness = programFreshness(program);
    if (freshness.stale) console.log(`  warning: ${freshness.warning}`);
  } catch (error) {
    missing += 1;
    console.log(`  ${name.padEnd(8)} missing: ${error.message}`);
  }
}
if (missing > 0) {
  console.log('Some programs are missing: resolving, downloading or channels will report it when used.\n');
}

try {
  process.loadEnvFile(); // ./.env, when there is one
} catch {
  // no .env
}
const { createLogger, loadConfig, startServer } = await import('../examples/server/dist/index.js');
const config = loadConfig();
const logger = createLogger(config.logLevel);
let server;
try {
  server = await startServer({ config, logger });
} catch (error) {
  console.error(`NexStream could not start: ${error.message}`);
  process.exit(1);
}
console.log(
  `\nNexStream is running at ${server.url}  (open it in a browser; Ctrl+C stops it)` +
    `\n  data: ${config.dataDir}${config.fixtures ? '  ·  fixtures mode: offline demo data' : ''}\n`,
);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    const force = setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 5000);
    force.unref();
    server.close().then(() => process.exit(0));
  });
}
