import { readFile } from 'node:fs/promises';
import { createServer, type RequestListener } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const hlsScript = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');

/** A loopback server for the player tests: `/` is the test page, `/hls.min.js` the real hls.js, the rest the channel. */
export interface PlayerServer {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  close(): Promise<void>;
}

/** Serves `page` and hls.js, and hands every other request to the broadcaster's `handler`. */
export async function startPlayerServer(page: string, handler: RequestListener): Promise<PlayerServer> {
  const script = await readFile(hlsScript);
  const server = createServer((request, response) => {
    if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(page);
    else if (request.url === '/hls.min.js')
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
