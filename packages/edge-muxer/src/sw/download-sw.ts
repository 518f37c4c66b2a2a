/**
 * `@nexstream/edge-muxer/sw`: the Service Worker that pumps a stream into the browser's download
 * manager. The app registers the bundled file (`dist/browser/sw.js`) at a scope it chooses; the page
 * ({@link saveStream}) transfers the stream to it, gets back a one-off URL under that scope, and opens
 * it in a hidden iframe; this worker answers that URL with the stream as an attachment. Entries are
 * removed after completion, cancel or `timeoutMs` without a fetch. See decision 0072.
 *
 * @packageDocumentation
 */
import {
  downloadPathSegment,
  type ServiceWorkerDownloadEntry,
  type ServiceWorkerReply,
  type ServiceWorkerRequest,
} from '../protocol.js';

interface ExtendableEventLike extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface ExtendableMessageEventLike extends ExtendableEventLike {
  data: unknown;
  ports: readonly MessagePort[];
}
interface FetchEventLike extends ExtendableEventLike {
  request: Request;
  respondWith(response: Response | Promise<Response>): void;
}
interface ServiceWorkerScopeLike {
  registration: { scope: string };
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: string, listener: (event: never) => void): void;
}

interface Entry {
  id: string;
  filename: string;
  mimeType: string;
  sizeBytes: number | undefined;
  stream: ReadableStream<Uint8Array>;
  port: MessagePort;
  state: 'pending' | 'streaming';
  bytes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  finished: Promise<void>;
  finish: () => void;
}

const entries = new Map<string, Entry>();

/** Options of {@link startDownloadServiceWorker}. */
export interface DownloadServiceWorkerOptions {
  /** Activate at once and take control of open pages (`skipWaiting` + `clients.claim`). Default true. */
  claimClients?: boolean;
}

/**
 * Installs the download pump's listeners on the current Service Worker scope. The bundled `./sw` entry
 * calls it on load; an app with its own Service Worker can import this module and call it there instead
 * (the listeners only answer URLs below `<scope>nexstream-download/` and messages of their own types).
 */
export function startDownloadServiceWorker(options: DownloadServiceWorkerOptions = {}): void {
  const scope = globalThis as unknown as ServiceWorkerScopeLike;
  if (options.claimClients ?? true) {
    scope.addEventListener('install', (event: ExtendableEventLike) => event.waitUntil(scope.skipWaiting()));
    scope.addEventListener('activate', (event: ExtendableEventLike) =>
      event.waitUntil(scope.clients.claim()),
    );
  }
  scope.addEventListener('message', (event: ExtendableMessageEventLike) => handleMessage(scope, event));
  scope.addEventListener('fetch', (event: FetchEventLike) => handleFetch(scope, event));
}

function send(port: MessagePort, reply: ServiceWorkerReply) {
  try {
    port.postMessage(reply);
  } catch {
    // The page is gone.
  }
}

function remove(entry: Entry) {
  if (entries.get(entry.id) === entry) entries.delete(entry.id);
  if (entry.timer !== undefined) clearTimeout(entry.timer);
  entry.finish();
}

function handleMessage(scope: ServiceWorkerScopeLike, event: ExtendableMessageEventLike) {
  const message = event.data as ServiceWorkerRequest | undefined;
  if (
    typeof message !== 'object' ||
    message === null ||
    !String(message.type).startsWith('nexstream-download')
  ) {
    return;
  }
  switch (message.type) {
    case 'nexstream-download-register': {
      const port = event.ports[0];
      if (port === undefined) return;
      let finish = () => {};
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const entry: Entry = {
        id: message.id,
        filename: message.filename,
        mimeType: message.mimeType,
        sizeBytes: message.sizeBytes,
        stream: message.stream,
        port,
        state: 'pending',
        bytes: 0,
        timer: undefined,
        finished,
        finish,
      };
      entry.timer = setTimeout(() => {
        if (entry.state !== 'pending') return;
        void entry.stream.cancel('download URL not fetched in time').catch(() => {});
        send(port, {
          type: 'failed',
          message: `the download URL was not fetched within ${message.timeoutMs} ms`,
        });
        remove(entry);
      }, message.timeoutMs);
      entries.set(entry.id, entry);
      const url = new URL(
        `${downloadPathSegment}/${encodeURIComponent(entry.id)}/${encodeURIComponent(entry.filename)}`,
        scope.registration.scope,
      ).href;
      send(port, { type: 'registered', url });
      // Keep this worker alive while the download runs (the page's pings extend it further).
      event.waitUntil(finished);
      return;
    }
    case 'nexstream-download-ping':
      // Receiving a message is what keeps the worker alive; nothing else to do.
      return;
    case 'nexstream-download-cancel': {
      const entry = entries.get(message.id);
      if (entry === undefined) return;
      void entry.stream.cancel('cancelled by the page').catch(() => {});
      send(entry.port, { type: 'cancelled', reason: 'cancelled by the page' });
      remove(entry);
      return;
    }
    case 'nexstream-download-list': {
      const port = event.ports[0];
      if (port === undefined) return;
      const list: ServiceWorkerDownloadEntry[] = [...entries.values()].map((entry) => ({
        id: entry.id,
        filename: entry.filename,
        state: entry.state,
        bytes: entry.bytes,
      }));
      send(port, { type: 'list', entries: list });
      return;
    }
  }
}

function handleFetch(scope: ServiceWorkerScopeLike, event: FetchEventLike) {
  const prefix = new URL(`${downloadPathSegment}/`, scope.registration.scope).href;
  const url = event.request.url;
  if (!url.startsWith(prefix)) return;
  const id = decodeURIComponent(url.slice(prefix.length).split('/')[0] ?? '');
  const entry = entries.get(id);
  if (entry === undefined || entry.state !== 'pending' || event.request.method !== 'GET') {
    event.respondWith(
      new Response('This download link was already used, cancelled or expired.', {
        status: 404,
        headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
      }),
    );
    return;
  }
  entry.state = 'streaming';
  if (entry.timer !== undefined) clearTimeout(entry.timer);
  entry.timer = undefined;
  send(entry.port, { type: 'started' });
  const reader = entry.stream.getReader();
  let lastProgress = 0;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          send(entry.port, {
            type: 'failed',
            message: error instanceof Error ? error.message : String(error),
          });
          remove(entry);
          controller.error(error);
          return;
        }
        if (result.done) {
          controller.close();
          send(entry.port, { type: 'complete', bytes: entry.bytes });
          remove(entry);
          return;
        }
        entry.bytes += result.value.byteLength;
        controller.enqueue(result.value);
        const now = Date.now();
        if (now - lastProgress > 500) {
          lastProgress = now;
          send(entry.port, { type: 'progress', bytes: entry.bytes });
        }
      },
      cancel(reason) {
        void reader.cancel(reason).catch(() => {});
        send(entry.port, { type: 'cancelled', reason: 'the download was cancelled in the browser' });
        remove(entry);
      },
    },
    { highWaterMark: 0 },
  );
  const headers = new Headers({
    'Content-Type': entry.mimeType,
    'Content-Disposition': contentDisposition(entry.filename),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  if (entry.sizeBytes !== undefined) headers.set('Content-Length', String(entry.sizeBytes));
  event.respondWith(new Response(body, { headers }));
  event.waitUntil(entry.finished);
}

/** `attachment` with an ASCII fallback name and the RFC 5987 UTF-8 name. */
function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

startDownloadServiceWorker();
