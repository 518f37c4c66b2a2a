import { toNexStreamError } from '@nexstream/core';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './server.js';

// The program: `node dist/main.js` (npm start / npm run demo). Configuration comes from the environment
// (see .env.example); SIGINT / SIGTERM shut down gracefully.
// A .env file in the working directory is read first (variables already set win).
try {
  process.loadEnvFile();
} catch {
  // no .env: the environment and the defaults apply
}
const config = loadConfig();
const logger = createLogger(config.logLevel);
try {
  const server = await startServer({ config, logger });
  logger.info(`NexStream is running at ${server.url}`, {
    url: server.url,
    fixtures: config.fixtures,
    dataDir: config.dataDir,
    authRequired: Boolean(config.apiKey),
  });
  let signals = 0;
  const stop = (signal: string) => {
    signals += 1;
    if (signals > 1) process.exit(1);
    logger.info(`received ${signal}`);
    const force = setTimeout(() => process.exit(1), config.shutdownTimeoutMs + 5000);
    force.unref();
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  const failure = toNexStreamError(error);
  logger.error(`NexStream could not start: ${failure.message}`, { code: failure.code });
  process.exit(1);
}
