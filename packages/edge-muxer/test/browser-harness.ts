import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { locateProgram } from '@nexstream/core/node';
import { bundleForBrowser } from '@nexstream/testkit';
import { libavAssets } from '../src/assets.js';

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));

/**
 * Bundles the package's browser code from its TypeScript sources (so tests never depend on a stale
 * `dist/`): the page module (the `.` entry), the Worker and the Service Worker, exactly as the package
 * build does (tsup, platform browser, everything bundled).
 */
export async function bundleBrowserCode(): Promise<{ directory: string; remove: () => Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), 'nexstream-edge-muxer-'));
  await bundleForBrowser(
    {
      page: join(packageDirectory, 'src/index.ts'),
      worker: join(packageDirectory, 'src/worker/mux-worker.ts'),
      sw: join(packageDirectory, 'src/sw/download-sw.ts'),
    },
    directory,
  );
  return { directory, remove: () => rm(directory, { recursive: true, force: true }) };
}

/** The directory of an installed libav.js variant's `dist/`. */
function libavDistDirectory(packageName: string): string {
  return dirname(fileURLToPath(import.meta.resolve(packageName)));
}

const testPage = `<!doctype html>
<meta charset="utf-8">
<title>edge-muxer test page</title>
<body>
<script type="module">
  import * as edgeMuxer from '/app/page.js';
  window.edgeMuxer = edgeMuxer;
  window.edgeMuxerReady = (async () => {
    if (new URL(location.href).searchParams.get('sw') !== '0') {
      await navigator.serviceWorker.register('/sw.js', { scope: '/', type: 'module' });
      await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((resolve) => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
      }
    }
    return true;
  })();
</script>
</body>`;

/** The test site: the page, the bundled scripts under /app/, libav.js under /libav/, and /media/* proxied to the origin. */
export interface TestSite {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the test page on 127.0.0.1. Media requests (`/media/…`) are proxied, byte for byte and
 * without buffering, to the testkit media origin so the page fetches them same-origin (the origin sends
 * no CORS headers); a connection the origin drops is dropped towards the browser too.
 */
export async function startTestSite(options: {
  bundleDirectory: string;
  mediaOriginUrl: string;
  extraFiles?: Record<string, { path: string; contentType: string }>;
}): Promise<TestSite> {
  const libavFiles = new Map(
    libavAssets.map((asset) => [
      asset.fileName,
      { path: join(libavDistDirectory(asset.packageName), asset.fileName), contentType: asset.contentType },
    ]),
  );
  const sockets = new Set<Socket>();
  const origin = new URL(options.mediaOriginUrl);
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const sendFile = (filePath: string, contentType: string) => {
      response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      createReadStream(filePath)
        .on('error', () => response.destroy())
        .pipe(response);
    };
    if (path === '/' || path === '/index.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(testPage);
      return;
    }
    if (path === '/sw.js') {
      // The app picks the scope; a worker script served at the root may control the whole origin.
      sendFile(join(options.bundleDirectory, 'sw.js'), 'text/javascript');
      return;
    }
    if (path.startsWith('/app/') && /^[a-z-]+\.js$/.test(path.slice(5))) {
      sendFile(join(options.bundleDirectory, path.slice(5)), 'text/javascript');
      return;
    }
    const extra = options.extraFiles?.[path];
    if (extra !== undefined) {
      sendFile(extra.path, extra.contentType);
      return;
    }
    if (path.startsWith('/libav/')) {
      const file = libavFiles.get(path.slice(7));
      if (file !== undefined) {
        sendFile(file.path, file.contentType);
        return;
      }
    }
    if (path.startsWith('/media/')) {
      const headers = { ...request.headers, host: origin.host };
      const upstream = httpRequest(
        { host: origin.hostname, port: origin.port, path: request.url, method: request.method, headers },
        (upstreamResponse) => {
          response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          // When the origin drops the connection, pass on every byte it did send, then close the socket:
          // the browser sees a body shorter than its Content-Length, exactly as from a dropped CDN link.
          const dropped = () => {
            upstreamResponse.unpipe(response);
            response.end(() => response.socket?.destroy());
          };
          upstreamResponse.on('error', dropped);
          upstreamResponse.on('close', () => {
            if (!upstreamResponse.complete) dropped();
          });
          upstreamResponse.pipe(response, { end: true });
        },
      );
      upstream.on('error', () => response.destroy());
      response.on('close', () => upstream.destroy());
      request.pipe(upstream);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found');
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

function run(program: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, args, { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`${program} ${args.join(' ')} failed: ${stderr.slice(-2000)}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

/** Stream-copies the inputs with the native ffmpeg CLI, the reference the browser output must match. */
export async function nativeRemux(
  video: string,
  audio: string,
  container: 'mp4' | 'webm' | 'mkv',
  output: string,
): Promise<void> {
  const ffmpeg = await locateProgram('ffmpeg');
  const format = { mp4: 'mp4', webm: 'webm', mkv: 'matroska' }[container];
  await run(ffmpeg.path, [
    '-v',
    'error',
    '-i',
    video,
    '-i',
    audio,
    '-map',
    '0:v:0',
    '-map',
    '1:a:0',
    '-c',
    'copy',
    ...(container === 'mp4' ? ['-movflags', 'frag_keyframe+empty_moov+default_base_moof'] : []),
    '-f',
    format,
    '-y',
    output,
  ]);
}

/**
 * Per stream, `size:md5` of each packet in order, without timestamps: `ffmpeg -i … -map … -c copy -f
 * framemd5 -` over the `maps` of the `inputs` (streams numbered in map order).
 */
export async function copiedPacketHashes(inputs: string[], maps: string[]): Promise<string[][]> {
  const ffmpeg = await locateProgram('ffmpeg');
  const text = await run(ffmpeg.path, [
    ...['-v', 'error'],
    ...inputs.flatMap((input) => ['-i', input]),
    ...maps.flatMap((map) => ['-map', map]),
    ...['-c', 'copy', '-f', 'framemd5', '-'],
  ]);
  const streams: string[][] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(',').map((field) => field.trim());
    const index = Number(fields[0]);
    streams[index] = [...(streams[index] ?? []), `${fields[4]}:${fields[5]}`];
  }
  return streams;
}

/** One packet line of ffmpeg's framemd5 output. */
export interface PacketHash {
  streamIndex: number;
  sizeBytes: number;
  hash: string;
}

/** `ffmpeg -i file -map 0 -c copy -f framemd5 -`, parsed into the packets of each stream (in order). */
export async function packetHashes(file: string): Promise<Map<number, PacketHash[]>> {
  const ffmpeg = await locateProgram('ffmpeg');
  const output = await run(ffmpeg.path, [
    '-v',
    'error',
    '-i',
    file,
    '-map',
    '0',
    '-c',
    'copy',
    '-f',
    'framemd5',
    '-',
  ]);
  const streams = new Map<number, PacketHash[]>();
  for (const line of output.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const fields = line.split(',').map((field) => field.trim());
    const packet = { streamIndex: Number(fields[0]), sizeBytes: Number(fields[4]), hash: fields[5] ?? '' };
    const list = streams.get(packet.streamIndex) ?? [];
    list.push(packet);
    streams.set(packet.streamIndex, list);
  }
  return streams;
}

/** Reads a whole small file (for magic-byte checks). */
export async function readHead(file: string, bytes = 16): Promise<Uint8Array> {
  const data = await readFile(file);
  return new Uint8Array(data.subarray(0, bytes));
}
