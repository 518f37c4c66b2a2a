import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { ServiceWorkerDownloadEntry, ServiceWorkerReply, ServiceWorkerRequest } from './protocol.js';

/**
 * How {@link saveStream} delivered a file:
 * - `file-system-access`: the save picker (`showSaveFilePicker`), written straight to the chosen file;
 * - `service-worker`: this package's Service Worker answered a one-off URL with the stream, so the
 *   browser's download manager wrote it (progress bar when the size is known);
 * - `opfs`: written to the origin-private file system, then offered as a file URL;
 * - `blob`: collected in memory, then offered as a Blob URL (small files only).
 */
export type SaveMethod = 'file-system-access' | 'service-worker' | 'opfs' | 'blob';

/** The default order: streaming to disk first, memory last. */
export const defaultSaveMethods: readonly SaveMethod[] = [
  'file-system-access',
  'service-worker',
  'opfs',
  'blob',
];

/** Options of {@link saveStream}. */
export interface SaveStreamOptions {
  /** The file name offered to the user. */
  filename: string;
  /** The MIME type. Default `application/octet-stream`. */
  mimeType?: string;
  /** The size in bytes when known: the Service Worker sends `Content-Length` so the browser shows progress. */
  sizeBytes?: number;
  /**
   * The methods to try, in order; unavailable ones are skipped. Default {@link defaultSaveMethods}. The
   * picker needs a user gesture: leave it out when saving outside a click handler (and in automated tests).
   */
  methods?: readonly SaveMethod[];
  /** The registration of this package's Service Worker. Default: `navigator.serviceWorker.getRegistration()`. */
  serviceWorker?: ServiceWorkerRegistration;
  /** How long the Service Worker waits for the browser to fetch the download URL, in ms. Default 30 000. */
  serviceWorkerTimeoutMs?: number;
  /** Keep-alive message interval to the Service Worker while streaming, in ms. Default 10 000 (Firefox stops idle workers at ~30 s). */
  pingIntervalMs?: number;
  /** The largest file the in-memory `blob` method accepts, in bytes. Default 64 MiB. */
  blobLimitBytes?: number;
  /** How long OPFS/Blob URLs (and the OPFS file) are kept after the save, in ms. Default 60 000. */
  objectUrlLifetimeMs?: number;
  /** Cancels the save: the stream is cancelled and the Service Worker entry removed. */
  signal?: AbortSignal;
  /** Called once the method is chosen, before any byte is written. */
  onMethod?: (method: SaveMethod) => void;
  /** Called with the bytes written so far (throttled by the method). */
  onProgress?: (bytesWritten: number) => void;
}

/** What {@link saveStream} resolves with. */
export interface SaveResult {
  /** The method that delivered the file. */
  method: SaveMethod;
  /** Bytes written. */
  bytesWritten: number;
  /** Why the methods before it were skipped (`method: reason`). */
  skipped: string[];
}

class Unavailable extends Error {}

/**
 * Saves a stream as a file without holding it in memory where the browser allows: tries `methods` in
 * order (save picker → Service Worker pump → OPFS + file URL → in-memory Blob) and reports which one
 * was used. Resolves once the last byte was handed to the file or the download manager.
 *
 * @throws NexStreamError `NXS_ABORTED` (signal, picker dismissed, download cancelled in the browser),
 * `NXS_TOO_LARGE` (only the Blob method was left and the file exceeds `blobLimitBytes`),
 * `NXS_DEPENDENCY_MISSING` (no method available), `NXS_UPSTREAM` (the stream errored; its message kept),
 * `NXS_TIMEOUT` (the browser never fetched the Service Worker URL).
 *
 * @example
 * ```ts
 * await navigator.serviceWorker.register('/nexstream-sw.js', { scope: '/', type: 'module' });
 * const result = await saveStream(mux({ video, audio, container: 'webm' }), { filename: 'song.webm' });
 * ```
 */
export async function saveStream(
  stream: ReadableStream<Uint8Array>,
  options: SaveStreamOptions,
): Promise<SaveResult> {
  const skipped: string[] = [];
  if (options.signal?.aborted) {
    await stream.cancel(options.signal.reason).catch(() => {});
    throw aborted(options.signal.reason);
  }
  // Wait for the first bytes before choosing a method, so a job that fails at once (a corrupt input)
  // never opens a save dialog or starts a download that can only end broken.
  const primed = await primeStream(stream, options.filename);
  for (const method of options.methods ?? defaultSaveMethods) {
    try {
      const bytesWritten = await saveWith(method, primed, options);
      return { method, bytesWritten, skipped };
    } catch (error) {
      if (error instanceof Unavailable) {
        skipped.push(`${method}: ${error.message}`);
        continue;
      }
      throw error;
    }
  }
  await primed.cancel('no save method available').catch(() => {});
  throw new NexStreamError(
    NexStreamErrorCode.DependencyMissing,
    `no way to save ${options.filename} in this browser (${skipped.join('; ')}): register the edge-muxer Service Worker or allow a larger blobLimitBytes`,
    { details: { skipped } },
  );
}

/** Reads the first chunk (so early errors surface here), then replays it ahead of the rest. */
async function primeStream(
  stream: ReadableStream<Uint8Array>,
  filename: string,
): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  let first: ReadableStreamReadResult<Uint8Array>;
  try {
    first = await reader.read();
  } catch (error) {
    throw streamFailed(error, filename);
  }
  let replayed = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!replayed) {
          replayed = true;
          if (first.done) controller.close();
          else controller.enqueue(first.value);
          return;
        }
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

function saveWith(
  method: SaveMethod,
  stream: ReadableStream<Uint8Array>,
  options: SaveStreamOptions,
): Promise<number> {
  switch (method) {
    case 'file-system-access':
      return saveWithPicker(stream, options);
    case 'service-worker':
      return saveWithServiceWorker(stream, options);
    case 'opfs':
      return saveWithOpfs(stream, options);
    case 'blob':
      return saveWithBlob(stream, options);
  }
}

function aborted(reason?: unknown): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.Aborted, 'the save was cancelled', { cause: reason });
}

function streamFailed(error: unknown, filename: string): NexStreamError {
  if (NexStreamError.is(error)) return error;
  return new NexStreamError(
    NexStreamErrorCode.Upstream,
    `saving ${filename} failed: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

/** Counts bytes on their way to a sink. */
function counting(
  options: SaveStreamOptions,
  counter: { bytes: number },
): TransformStream<Uint8Array, Uint8Array> {
  let last = 0;
  return new TransformStream({
    transform(chunk, controller) {
      counter.bytes += chunk.byteLength;
      const now = Date.now();
      if (now - last > 250) {
        last = now;
        options.onProgress?.(counter.bytes);
      }
      controller.enqueue(chunk);
    },
  });
}

interface PickerWindow {
  showSaveFilePicker?: (options: {
    suggestedName: string;
    types?: Array<{ description: string; accept: Record<string, string[]> }>;
  }) => Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>;
}

async function saveWithPicker(
  stream: ReadableStream<Uint8Array>,
  options: SaveStreamOptions,
): Promise<number> {
  const picker = (globalThis as unknown as PickerWindow).showSaveFilePicker;
  if (typeof picker !== 'function') throw new Unavailable('showSaveFilePicker is not available');
  let handle: Awaited<ReturnType<NonNullable<PickerWindow['showSaveFilePicker']>>>;
  try {
    const extension = /\.[A-Za-z0-9]+$/.exec(options.filename)?.[0];
    handle = await picker({
      suggestedName: options.filename,
      ...(extension === undefined || options.mimeType === undefined
        ? {}
        : { types: [{ description: options.filename, accept: { [options.mimeType]: [extension] } }] }),
    });
  } catch (error) {
    const name = (error as { name?: string } | undefined)?.name;
    if (name === 'AbortError') {
      await stream.cancel('save picker dismissed').catch(() => {});
      throw new NexStreamError(
        NexStreamErrorCode.Aborted,
        `the save picker for ${options.filename} was dismissed`,
        {
          cause: error,
        },
      );
    }
    // SecurityError (no user gesture) or NotAllowedError: fall through to the next method.
    throw new Unavailable(`the save picker was refused (${name ?? String(error)})`);
  }
  options.onMethod?.('file-system-access');
  const counter = { bytes: 0 };
  try {
    const writable = await handle.createWritable();
    await stream
      .pipeThrough(counting(options, counter))
      .pipeTo(writable, options.signal === undefined ? {} : { signal: options.signal });
  } catch (error) {
    if (options.signal?.aborted) throw aborted(options.signal.reason);
    throw streamFailed(error, options.filename);
  }
  return counter.bytes;
}

async function serviceWorkerRegistration(options: SaveStreamOptions): Promise<ServiceWorkerRegistration> {
  if (options.serviceWorker !== undefined) return options.serviceWorker;
  const container = (globalThis.navigator as Navigator | undefined)?.serviceWorker;
  if (container === undefined)
    throw new Unavailable('Service Workers are not available (private mode or insecure origin)');
  const registration = await container.getRegistration();
  if (registration === undefined) throw new Unavailable('no Service Worker is registered for this page');
  return registration;
}

async function saveWithServiceWorker(
  stream: ReadableStream<Uint8Array>,
  options: SaveStreamOptions,
): Promise<number> {
  const registration = await serviceWorkerRegistration(options);
  const active = registration.active;
  if (active === null) throw new Unavailable('the Service Worker is not active yet');
  if (typeof document === 'undefined') throw new Unavailable('no document to open the download URL in');
  options.onMethod?.('service-worker');

  const id = crypto.randomUUID();
  const channel = new MessageChannel();
  let iframe: HTMLIFrameElement | undefined;
  let ping: ReturnType<typeof setInterval> | undefined;
  const post = (message: ServiceWorkerRequest, transfer: Transferable[] = []) =>
    active.postMessage(message, transfer);
  const onAbort = () => post({ type: 'nexstream-download-cancel', id });
  try {
    return await new Promise<number>((resolve, reject) => {
      if (options.signal !== undefined) {
        options.signal.addEventListener(
          'abort',
          () => {
            onAbort();
            reject(aborted(options.signal?.reason));
          },
          { once: true },
        );
      }
      channel.port1.onmessage = (event: MessageEvent<ServiceWorkerReply>) => {
        const reply = event.data;
        switch (reply.type) {
          case 'registered':
            iframe = document.createElement('iframe');
            iframe.hidden = true;
            iframe.src = reply.url;
            document.body.appendChild(iframe);
            return;
          case 'progress':
            options.onProgress?.(reply.bytes);
            return;
          case 'complete':
            options.onProgress?.(reply.bytes);
            resolve(reply.bytes);
            return;
          case 'cancelled':
            reject(
              new NexStreamError(NexStreamErrorCode.Aborted, `saving ${options.filename}: ${reply.reason}`),
            );
            return;
          case 'failed':
            reject(
              new NexStreamError(
                /not fetched within/.test(reply.message)
                  ? NexStreamErrorCode.Timeout
                  : NexStreamErrorCode.Upstream,
                `saving ${options.filename} through the Service Worker failed: ${reply.message}`,
              ),
            );
            return;
        }
      };
      // Always ping: a transferred stream does not keep every browser's Service Worker alive.
      ping = setInterval(
        () => post({ type: 'nexstream-download-ping', id }),
        options.pingIntervalMs ?? 10_000,
      );
      post(
        {
          type: 'nexstream-download-register',
          id,
          filename: options.filename,
          mimeType: options.mimeType ?? 'application/octet-stream',
          ...(options.sizeBytes === undefined ? {} : { sizeBytes: options.sizeBytes }),
          stream,
          timeoutMs: options.serviceWorkerTimeoutMs ?? 30_000,
        },
        [channel.port2, stream],
      );
    });
  } finally {
    if (ping !== undefined) clearInterval(ping);
    channel.port1.close();
    const frame = iframe;
    // Give the download manager a moment to take over the response before the iframe goes.
    if (frame !== undefined) setTimeout(() => frame.remove(), 1000);
  }
}

function offerUrl(url: string, filename: string) {
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = filename;
  anchor.rel = 'noopener';
  anchor.style.display = 'none';
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
}

async function saveWithOpfs(stream: ReadableStream<Uint8Array>, options: SaveStreamOptions): Promise<number> {
  const storage = (globalThis.navigator as Navigator | undefined)?.storage;
  if (storage?.getDirectory === undefined)
    throw new Unavailable('the origin-private file system is not available');
  if (typeof document === 'undefined') throw new Unavailable('no document to offer the file URL in');
  let directory: FileSystemDirectoryHandle;
  let handle: FileSystemFileHandle;
  let writable: WritableStream<Uint8Array>;
  const entryName = `nexstream-${crypto.randomUUID()}-${options.filename.replace(/[/\\]/g, '_')}`;
  try {
    directory = await storage.getDirectory();
    handle = await directory.getFileHandle(entryName, { create: true });
    const withWritable = handle as FileSystemFileHandle & {
      createWritable?: () => Promise<WritableStream<Uint8Array>>;
    };
    if (typeof withWritable.createWritable !== 'function')
      throw new Error('createWritable is not supported here');
    writable = await withWritable.createWritable();
  } catch (error) {
    throw new Unavailable(
      `OPFS refused a writable file (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  options.onMethod?.('opfs');
  const counter = { bytes: 0 };
  try {
    await stream
      .pipeThrough(counting(options, counter))
      .pipeTo(writable, options.signal === undefined ? {} : { signal: options.signal });
  } catch (error) {
    await directory.removeEntry(entryName).catch(() => {});
    if (options.signal?.aborted) throw aborted(options.signal.reason);
    throw streamFailed(error, options.filename);
  }
  const file = await handle.getFile();
  const url = URL.createObjectURL(
    options.mimeType === undefined ? file : new Blob([file], { type: options.mimeType }),
  );
  offerUrl(url, options.filename);
  setTimeout(() => {
    URL.revokeObjectURL(url);
    void directory.removeEntry(entryName).catch(() => {});
  }, options.objectUrlLifetimeMs ?? 60_000);
  return counter.bytes;
}

async function saveWithBlob(stream: ReadableStream<Uint8Array>, options: SaveStreamOptions): Promise<number> {
  const limit = options.blobLimitBytes ?? 64 * 1024 * 1024;
  if (options.sizeBytes !== undefined && options.sizeBytes > limit) {
    throw new Unavailable(`${options.sizeBytes} bytes exceed blobLimitBytes (${limit})`);
  }
  if (typeof document === 'undefined') throw new Unavailable('no document to offer the Blob URL in');
  options.onMethod?.('blob');
  const parts: Uint8Array[] = [];
  let bytes = 0;
  const reader = stream.getReader();
  const onAbort = () => void reader.cancel(options.signal?.reason).catch(() => {});
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (options.signal?.aborted) throw aborted(options.signal.reason);
      if (done) break;
      bytes += value.byteLength;
      if (bytes > limit) {
        await reader.cancel('too large for an in-memory save').catch(() => {});
        throw new NexStreamError(
          NexStreamErrorCode.TooLarge,
          `${options.filename} exceeds blobLimitBytes (${limit} bytes) and no streaming save method is available: register the edge-muxer Service Worker`,
        );
      }
      parts.push(value);
      options.onProgress?.(bytes);
    }
  } catch (error) {
    throw streamFailed(error, options.filename);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  const url = URL.createObjectURL(
    new Blob(parts as BlobPart[], { type: options.mimeType ?? 'application/octet-stream' }),
  );
  offerUrl(url, options.filename);
  setTimeout(() => URL.revokeObjectURL(url), options.objectUrlLifetimeMs ?? 60_000);
  return bytes;
}

/**
 * Lists the downloads the edge-muxer Service Worker holds (pending: URL not fetched yet; streaming).
 * Useful to check that nothing is left behind after a cancel.
 */
export async function listServiceWorkerDownloads(
  registration: ServiceWorkerRegistration,
  timeoutMs = 5000,
): Promise<ServiceWorkerDownloadEntry[]> {
  const active = registration.active;
  if (active === null) return [];
  const channel = new MessageChannel();
  try {
    return await new Promise<ServiceWorkerDownloadEntry[]>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new NexStreamError(
              NexStreamErrorCode.Timeout,
              'the Service Worker did not answer the list request',
            ),
          ),
        timeoutMs,
      );
      channel.port1.onmessage = (event: MessageEvent<ServiceWorkerReply>) => {
        if (event.data.type === 'list') {
          clearTimeout(timer);
          resolve(event.data.entries);
        }
      };
      const request: ServiceWorkerRequest = { type: 'nexstream-download-list' };
      active.postMessage(request, [channel.port2]);
    });
  } finally {
    channel.port1.close();
  }
}
