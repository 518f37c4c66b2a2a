// Profiling aid (not a benchmark): runs our mux of the 180 s pair in headless Chromium, prints per run
// the Worker's per-phase timings (`timingsMs`) and the CPU the media server and the whole machine used,
// then runs once more with the V8 CPU profiler attached to the mux Worker (CDP, flatten:false +
// Target.sendMessageToTarget) and prints the functions with the most self and inclusive time. Inputs are
// those the browser bench caches (run it once first). `blob` as argument: Blob inputs instead of URLs.
// Environment: PROFILE_RUNS (3), PROFILE_CPU=0 (no CPU profile), PROFILE_HASH=1 (SHA-256 of one output,
// to check that a change keeps the output byte-identical), PROFILE_WORKER=<path> (serve another build of
// the Worker, for A/B runs), PROFILE_OPTIONS (extra mux() options, as JS source), PROFILE_REQUESTS=1
// (log the Range requests), PROFILE_VIDEO / PROFILE_AUDIO (other cached inputs).
// Run: npx turbo run build --filter=@nexstream/edge-muxer... && npm run profile:browser -w @nexstream/edge-muxer
import { createReadStream, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { libavAssets } from '@nexstream/edge-muxer';
import { launchChromium, sampleCacheDirectory } from '@nexstream/testkit';

const fromMemory = process.argv.includes('blob');

/** CPU time (ms): this process (the media server) and the whole machine (all cores), from /proc. */
async function cpuByProcess(): Promise<Map<string, number>> {
  const usage = process.cpuUsage();
  const fields = (await readFile('/proc/stat', 'utf8'))
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const busy = fields.reduce((sum, value) => sum + value, 0) - fields[3]! - fields[4]!;
  return new Map([
    ['node (server)', (usage.user + usage.system) / 1000],
    ['machine (all)', busy * 10],
  ]);
}

const cache = join(sampleCacheDirectory(), 'edge-muxer-bench');
const files: Record<string, string> = {
  '/media/video': join(cache, process.env.PROFILE_VIDEO ?? 'h264-1080p-180s.mp4'),
  '/media/audio': join(cache, process.env.PROFILE_AUDIO ?? 'aac-180s.m4a'),
};
const packageDist = dirname(fileURLToPath(import.meta.resolve('@nexstream/edge-muxer')));
const coreDist = dirname(fileURLToPath(import.meta.resolve('@nexstream/core')));
const workspaceModules = join(packageDist, '../../../node_modules');
const staticDirectories: Record<string, string> = {
  '/pkg/edge-muxer/': packageDist,
  '/pkg/core/': coreDist,
  '/pkg/eventsource-parser/': join(workspaceModules, 'eventsource-parser/dist'),
};
const libavFiles = new Map(
  libavAssets.map((asset) => [
    asset.fileName,
    join(dirname(fileURLToPath(import.meta.resolve(asset.packageName))), asset.fileName),
  ]),
);
const page = `<!doctype html><meta charset="utf-8"><body>
<script type="importmap">{"imports":{"@nexstream/core":"/pkg/core/index.js","eventsource-parser":"/pkg/eventsource-parser/index.js"}}</script>
<script type="module">
import * as edgeMuxer from '/pkg/edge-muxer/index.js';
// While profiling, the Worker is kept alive after the job until the profile is taken.
const terminate = Worker.prototype.terminate;
Worker.prototype.terminate = function () {
  if (!window.holdWorker) return terminate.call(this);
  window.release = () => terminate.call(this);
};
window.runOurs = async (fromMemory, hold) => {
  window.jobDone = false;
  window.holdWorker = hold;
  const inputs = fromMemory
    ? await Promise.all(['/media/video', '/media/audio'].map(async (url) => (await fetch(url)).blob()))
    : ['/media/video', '/media/audio'];
  const started = performance.now();
  let done;
  const stream = edgeMuxer.mux({ video: inputs[0], audio: inputs[1], container: 'mp4',
    workerUrl: '/pkg/edge-muxer/browser/worker.js', libavBaseUrl: '/libav/', ${process.env.PROFILE_OPTIONS ?? ''} onProgress: (p) => { if (p.phase === 'done') { done = p; window.jobDone = true; } } });
  let bytes = 0;
  let firstByteMs;
  const kept = window.keepOutput ? [] : undefined;
  const reader = stream.getReader();
  for (;;) { const { done, value } = await reader.read(); if (done) break; firstByteMs ??= performance.now() - started; bytes += value.byteLength; kept?.push(value); }
  const ms = performance.now() - started;
  let sha256;
  if (kept) {
    const digest = await crypto.subtle.digest('SHA-256', await new Blob(kept).arrayBuffer());
    sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }
  return { ms, firstByteMs, bytes, sha256, timings: done?.timingsMs };
};
window.ready = true;
</script></body>`;
const sockets = new Set<Socket>();
const server = createServer((request, response) => {
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  if (path === '/') {
    response.writeHead(200, { 'content-type': 'text/html' });
    return response.end(page);
  }
  const send = (file: string | undefined, type: string) => {
    if (file === undefined || !existsSync(file)) {
      response.writeHead(404);
      return response.end();
    }
    response.writeHead(200, { 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' });
    createReadStream(file).pipe(response);
  };
  if (path === '/pkg/edge-muxer/browser/worker.js' && process.env.PROFILE_WORKER) {
    return send(process.env.PROFILE_WORKER, 'text/javascript');
  }
  if (path.startsWith('/libav/')) {
    const file = libavFiles.get(path.slice(7));
    return send(file, file?.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
  }
  for (const [prefix, directory] of Object.entries(staticDirectories)) {
    if (path.startsWith(prefix)) return send(join(directory, path.slice(prefix.length)), 'text/javascript');
  }
  const media = files[path];
  if (media === undefined) {
    response.writeHead(404);
    return response.end();
  }
  void stat(media).then(({ size }) => {
    if (process.env.PROFILE_REQUESTS === '1') console.log(`request ${path} ${request.headers.range}`);
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range?.[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
    response.writeHead(range ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      'content-length': String(end - start + 1),
      ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    const body = createReadStream(media, { start, end, highWaterMark: 1 << 20 });
    response.on('close', () => body.destroy());
    body.pipe(response);
  });
});
server.on('connection', (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await launchChromium();
try {
  const tab = await browser.newPage();
  tab.on('console', (message) => console.error('console:', message.text()));
  await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
  const run = (hold = false) =>
    tab.evaluate(
      ([memory, hold]) =>
        (
          window as unknown as {
            runOurs: (
              m: boolean,
              h: boolean,
            ) => Promise<{ ms: number; firstByteMs: number; bytes: number; timings: unknown }>;
          }
        ).runOurs(memory!, hold!),
      [fromMemory, hold],
    );
  if (process.env.PROFILE_HASH === '1') {
    await tab.evaluate(() => {
      (window as unknown as { keepOutput: boolean }).keepOutput = true;
    });
    const hashed = await run();
    console.log(`output ${hashed.bytes} bytes, sha256 ${(hashed as unknown as { sha256: string }).sha256}`);
    await tab.evaluate(() => {
      (window as unknown as { keepOutput: boolean }).keepOutput = false;
    });
  }
  await run();
  for (let index = 0; index < Number(process.env.PROFILE_RUNS ?? 3); index++) {
    const cpuBefore = await cpuByProcess();
    const plain = await run();
    const cpuAfter = await cpuByProcess();
    console.log(
      `cpu ms: ${[...cpuAfter]
        .map(([key, value]) => [key, value - (cpuBefore.get(key) ?? 0)] as const)
        .filter(([, value]) => value > 5)
        .map(([key, value]) => `${key} ${value.toFixed(0)}`)
        .join(', ')}`,
    );
    const t = (plain.timings ?? {}) as Record<string, number>;
    console.log(
      `run: ${plain.ms.toFixed(0)} ms, first byte ${plain.firstByteMs.toFixed(0)} ms | worker age ${t.workerAgeMs} heads ${t.headsAtMs} import ${t.loaderImportedAtMs} libav ${t.libavLoadedAtMs} muxing ${t.muxingAtMs} done ${t.doneAtMs} | muxing phase ${((t.finishingAtMs ?? 0) - (t.muxingAtMs ?? 0)).toFixed(0)}: input wait ${t.inputWaitMs} (×${t.inputWaits}), output copy ${t.onwriteMs}, output wait ${t.outputMs} | windows ${t.windows} blockReads ${t.blockReads} asyncReads ${t.asyncReads}`,
    );
  }
  if (process.env.PROFILE_CPU !== '0') {
    // CPU profile of the Worker: attach (not flattened) from a page session, start the profiler while the
    // Worker waits for the debugger, let it run.
    const session = await tab.context().newCDPSession(tab);
    let nextId = 1;
    const pending = new Map<number, (result: unknown) => void>();
    let workerSession: string | undefined;
    const sendToWorker = (method: string, params: Record<string, unknown> = {}) =>
      new Promise<unknown>((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        void session.send('Target.sendMessageToTarget', {
          sessionId: workerSession!,
          message: JSON.stringify({ id, method, params }),
        });
      });
    session.on('Target.receivedMessageFromTarget', (event) => {
      const message = JSON.parse(event.message) as { id?: number; result?: unknown; error?: unknown };
      if (message.id !== undefined) {
        if (message.error) console.error('cdp error', message.error);
        pending.get(message.id)?.(message.result);
        pending.delete(message.id);
      }
    });
    const attached = new Promise<void>((resolve) => {
      session.on('Target.attachedToTarget', (event) => {
        if (event.targetInfo.type !== 'worker') return;
        workerSession = event.sessionId;
        void (async () => {
          await sendToWorker('Profiler.enable');
          await sendToWorker('Profiler.setSamplingInterval', { interval: 200 });
          await sendToWorker('Profiler.start');
          await sendToWorker('Runtime.runIfWaitingForDebugger');
          resolve();
        })();
      });
    });
    await session.send('Target.setAutoAttach', {
      autoAttach: true,
      waitForDebuggerOnStart: true,
      flatten: false,
    });
    const job = run(true);
    await attached;
    console.error('profiled run', await job);
    const stopped = sendToWorker('Profiler.stop');
    const { profile } = (await stopped) as {
      profile: {
        nodes: Array<{
          id: number;
          callFrame: { functionName: string; url: string; lineNumber: number };
          children?: number[];
        }>;
        samples: number[];
        timeDeltas: number[];
      };
    };
    await tab.evaluate(() => (window as unknown as { release: () => void }).release());
    const selfMs = new Map<number, number>();
    profile.samples.forEach((node, index) => {
      selfMs.set(node, (selfMs.get(node) ?? 0) + (profile.timeDeltas[index] ?? 0) / 1000);
    });
    const byName = new Map<string, number>();
    let total = 0;
    for (const node of profile.nodes) {
      const ms = selfMs.get(node.id) ?? 0;
      total += ms;
      const file = node.callFrame.url.split('/').at(-1) ?? '';
      const key = `${node.callFrame.functionName || '(anonymous)'} ${file}:${node.callFrame.lineNumber}`;
      byName.set(key, (byName.get(key) ?? 0) + ms);
    }
    const top = [...byName.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, Number(process.env.PROFILE_TOP ?? 45));
    console.log(`total sampled ${total.toFixed(0)} ms`);
    for (const [name, ms] of top)
      console.log(`${ms.toFixed(1).padStart(8)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
    // Inclusive time of a few frames of interest.
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    const nodeById = new Map(profile.nodes.map((node) => [node.id, node]));
    const inclusive = new Map<string, number>();
    for (const [nodeId, ms] of selfMs) {
      const seen = new Set<string>();
      for (let current: number | undefined = nodeId; current !== undefined; current = parent.get(current)) {
        const name = nodeById.get(current)!.callFrame.functionName || '(anonymous)';
        if (seen.has(name)) continue;
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
      }
    }
    console.log('--- inclusive (top)');
    for (const [name, ms] of [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
      console.log(`${ms.toFixed(1).padStart(8)} ms  ${name}`);
    }
  }
} finally {
  await browser.close();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
}
