/**
 * The tunnel in a process of its own, for the loopback figures of `tunnel.bench.ts`: nginx runs in its own
 * process, so the tunnel does too, and neither shares a thread with the origin or the client. Forked with an
 * IPC channel; it exits when the channel closes (the bench ended or died).
 *
 * Messages in: `{ type: 'start', id, originUrl, sizeBytes, parallel, chunkBytes }` → `{ type: 'started', id, url }`;
 * `{ type: 'rss-reset', id }` restarts the RSS sampling, `{ type: 'rss', id }` does not; both answer
 * `{ type: 'rss', id, baseline, peak, cpuMs }`: RSS in bytes and the CPU time this process used so far.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

/** `NEXSTREAM_BENCH_CORE` may name another build of `@nexstream/core/node` (a file), to compare two versions. */
const { createTunnel }: typeof import('@nexstream/core/node') = await import(
  process.env.NEXSTREAM_BENCH_CORE
    ? pathToFileURL(process.env.NEXSTREAM_BENCH_CORE).href
    : '@nexstream/core/node'
);

type Message =
  | {
      type: 'start';
      id: number;
      originUrl: string;
      sizeBytes: number;
      parallel: number;
      chunkBytes: number;
    }
  | { type: 'rss-reset' | 'rss'; id: number };

if (!process.send)
  throw new Error('tunnel-process.ts is forked by tunnel.bench.ts (it needs an IPC channel)');
const send = process.send.bind(process);

let baseline = process.memoryUsage.rss();
let peak = baseline;
setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 50).unref();

async function start(message: Extract<Message, { type: 'start' }>): Promise<string> {
  const tunnel = createTunnel({
    secret: randomBytes(32),
    allowedHosts: ['127.0.0.1:*'],
    allowLoopback: true,
    parallel: message.parallel,
    chunkBytes: message.chunkBytes,
    lookupMedia: async () => ({
      url: message.originUrl,
      sizeBytes: message.sizeBytes,
      contentType: 'video/mp4',
    }),
  });
  const server = createServer((request, response) => void tunnel.handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const token = tunnel.mintToken({ mediaId: 'bench', formatId: 'big' });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/tunnel/${token}`;
}

process.on('message', (message: Message) => {
  if (message.type === 'start') {
    start(message).then(
      (url) => send({ type: 'started', id: message.id, url }),
      (error: unknown) => send({ type: 'error', id: message.id, message: String(error) }),
    );
    return;
  }
  if (message.type === 'rss-reset') {
    globalThis.gc?.();
    baseline = process.memoryUsage.rss();
    peak = baseline;
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  const cpu = process.cpuUsage();
  send({ type: 'rss', id: message.id, baseline, peak, cpuMs: (cpu.user + cpu.system) / 1000 });
});
process.on('disconnect', () => process.exit(0));
