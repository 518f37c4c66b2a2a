import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createApp } from './app.js';
import { loadConfig, type ServerConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { createStreamTracker } from './resolve-routes.js';
import { createServices, type Services } from './services.js';

/** A running NexStream server. */
export interface RunningServer {
  /** `http://<host>:<port>` */
  readonly url: string;
  readonly services: Services;
  /**
   * Graceful shutdown: stops accepting connections, lets open event streams finish (up to
   * `shutdownTimeoutMs`) and closes them, stops every channel, closes the engines, tunnel and registry.
   */
  close(): Promise<void>;
}

/** Options of {@link startServer}: a config (default: from `process.env`) and a logger. */
export interface StartServerOptions {
  config?: ServerConfig;
  logger?: Logger;
}

/**
 * Starts the NexStream server: services, the Express app, and the HTTP listener.
 *
 * @example
 * ```ts
 * const server = await startServer({ config: loadConfig({ NEXSTREAM_FIXTURES: '1', PORT: '0' }) });
 * console.log(server.url);
 * await server.close();
 * ```
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? createLogger(config.logLevel);
  const services = await createServices(config, logger);
  const streams = createStreamTracker();
  let address = '';
  const app = createApp(services, streams, () => address);
  const sockets = new Set<Socket>();
  let server: Server;
  try {
    server = await new Promise<Server>((resolve, reject) => {
      const listening = app.listen(config.port, config.host, (error?: Error) =>
        error ? reject(error) : resolve(listening),
      );
      listening.on('error', reject);
    });
  } catch (error) {
    await services.close();
    throw error;
  }
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Uploads can be long: no request timeout; headers must still arrive in time.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  const { port } = server.address() as AddressInfo;
  address = `http://127.0.0.1:${port}`;
  // Cluster mode: channels are claimed once this instance can answer the requests forwarded to it.
  try {
    await services.cluster?.start();
  } catch (error) {
    server.close();
    await services.close();
    throw error;
  }
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    services,
    close() {
      closing ??= (async () => {
        logger.info('shutting down', { openStreams: streams.size });
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await streams.drain(config.shutdownTimeoutMs);
        await services.broadcaster.close().catch(() => {});
        // Cluster mode: the channels held here stop (keeping their position) and their leases are released.
        await services.cluster?.close().catch(() => {});
        for (const socket of sockets) socket.destroy();
        await stopped;
        await services.close();
        logger.info('stopped');
      })();
      return closing;
    },
  };
}
