import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { libavAssets } from '@nexstream/edge-muxer';
import express, { type Router as ExpressRouter, Router } from 'express';
import type { Services } from './services.js';

/** The edge muxer's built browser files (`dist/browser`). */
export function defaultEdgeMuxerDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@nexstream/edge-muxer/package.json')), 'dist/browser');
}

/** The `dist/` folder of a libav.js variant, resolved from the edge muxer (whose dependency it is). */
function packageDist(packageName: string): string {
  const fromApp = createRequire(import.meta.url);
  const fromEdgeMuxer = createRequire(fromApp.resolve('@nexstream/edge-muxer/package.json'));
  // The variants export only their loader (`dist/libav-<variant>.js`); the other files sit beside it.
  return dirname(fromEdgeMuxer.resolve(packageName));
}

/**
 * Static files: the edge muxer's Worker (`/edge-muxer/worker.js`), its Service Worker at the root
 * (`/nexstream-sw.js`, `Service-Worker-Allowed: /` so the app may register it for the whole origin), the
 * libav.js files (`/libav/…`, the `.wasm` as `application/wasm` for streaming compilation), and the built web
 * app with a fallback to its `index.html`. No COOP/COEP: libav.js runs in its no-threads mode, which needs
 * no `SharedArrayBuffer`.
 */
export function staticRoutes(services: Services): ExpressRouter {
  const router = Router();
  const edgeDir = services.config.edgeMuxerDir ?? defaultEdgeMuxerDir();
  const sendFile = async (path: string, headers: Record<string, string>, response: express.Response) => {
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) {
      response.status(404).json({
        error: { code: 'NXS_NOT_FOUND', message: `missing file; build the packages (npm run build)` },
      });
      return;
    }
    response.writeHead(200, { 'Content-Length': String(info.size), ...headers });
    createReadStream(path).pipe(response);
  };
  router.get(
    '/edge-muxer/worker.js',
    (_request, response) =>
      void sendFile(
        join(edgeDir, 'worker.js'),
        { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' },
        response,
      ),
  );
  router.get(
    '/nexstream-sw.js',
    (_request, response) =>
      void sendFile(
        join(edgeDir, 'sw.js'),
        {
          'Content-Type': 'text/javascript; charset=utf-8',
          'Cache-Control': 'no-cache',
          'Service-Worker-Allowed': '/',
        },
        response,
      ),
  );
  const libav = new Map(libavAssets.map((asset) => [asset.fileName, asset]));
  router.get('/libav/:file', (request, response, next) => {
    const asset = libav.get(String(request.params.file));
    if (!asset) return next();
    void sendFile(
      join(packageDist(asset.packageName), asset.fileName),
      { 'Content-Type': asset.contentType, 'Cache-Control': 'public, max-age=31536000, immutable' },
      response,
    );
  });
  router.use(express.static(services.config.webDir, { index: 'index.html', maxAge: '1h' }));
  router.get(
    /^\/(?!api\/).*/,
    (_request, response) =>
      void sendFile(
        join(services.config.webDir, 'index.html'),
        { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' },
        response,
      ),
  );
  return router;
}
