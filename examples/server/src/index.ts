/**
 * The NexStream example server as a library: `startServer` (used by `npm start`, the demo and the tests),
 * its configuration and logger.
 *
 * @packageDocumentation
 */
export { loadConfig, type RateLimitSetting, type ServerConfig } from './config.js';
export { type FixtureWorld, fixtureSpotifyTrackLink, startFixtureWorld } from './fixtures.js';
export { createLogger, type Logger, type LogLevelName, redact } from './logger.js';
export { createSlidingWindow, rateLimitMiddleware, type SlidingWindow } from './rate-limit.js';
export { type RunningServer, type StartServerOptions, startServer } from './server.js';
export type { Services } from './services.js';
