import { createHmac, timingSafeEqual } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/** Names the instance that forwarded a request; a request that carries it is never forwarded again. */
export const proxiedByHeader = 'x-nexstream-proxied-by';
/** Proves a forwarded request comes from an instance of the cluster (an HMAC of the shared tunnel secret). */
export const clusterTokenHeader = 'x-nexstream-cluster-token';
/** The client address the forwarding instance saw, trusted only with a valid {@link clusterTokenHeader}. */
export const clientIpHeader = 'x-nexstream-client-ip';

// Hop-by-hop headers (RFC 9110 §7.6.1) are the connection's, not the message's.
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The token instances show each other: derived from the tunnel secret, which every instance shares. */
export function clusterToken(tunnelSecret: string): string {
  return createHmac('sha256', tunnelSecret).update('nexstream cluster proxy v1').digest('base64url');
}

/** Whether `request` was forwarded by an instance of this cluster (a valid cluster token). */
export function fromClusterPeer(request: IncomingMessage, token: string): boolean {
  const presented = request.headers[clusterTokenHeader];
  if (typeof presented !== 'string' || presented.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(presented), Buffer.from(token));
}

/** Options of {@link proxyRequest}. */
export interface ProxyOptions {
  /** The owner's base URL (`http://10.0.0.5:8080`). */
  target: string;
  /** Path and query to ask the owner for (Express's `originalUrl`: before any mount stripped a prefix). */
  path: string;
  /** This instance's id, sent in `X-NexStream-Proxied-By`. */
  instanceId: string;
  /** {@link clusterToken} of the shared secret. */
  token: string;
  /** The client's address as this instance sees it. */
  clientIp: string;
}

/**
 * Forwards `request` to the owner and streams its answer back: method, path and query, headers (`Range`,
 * `If-Match`, `Last-Event-ID`, `Authorization`… all but hop-by-hop ones), the body as a stream (an upload
 * is never buffered; backpressure crosses both sockets), status and headers of the answer, and its body as
 * it comes (event streams flush each event). A client that goes away aborts the forwarded request.
 *
 * Resolves once the answer has ended. Rejects with `NXS_UNREACHABLE` when the owner cannot be reached before
 * anything was sent back (the caller may answer the client then); failures after that cut the response.
 */
export function proxyRequest(
  request: IncomingMessage,
  response: ServerResponse,
  options: ProxyOptions,
): Promise<void> {
  const url = new URL(options.path, options.target);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !hopByHop.has(name)) headers[name] = value;
  }
  headers[proxiedByHeader] = options.instanceId;
  headers[clusterTokenHeader] = options.token;
  headers[clientIpHeader] = options.clientIp;
  const forwardedFor = request.headers['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${options.clientIp}` : options.clientIp;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<void>((resolve, reject) => {
    let answered = false;
    const upstream = send(url, { method: request.method, headers }, (answer) => {
      answered = true;
      const answerHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !hopByHop.has(name)) answerHeaders[name] = value;
      }
      response.writeHead(answer.statusCode ?? 502, answer.statusMessage, answerHeaders);
      // Event streams: the headers now, then each event as it arrives.
      response.flushHeaders();
      answer.pipe(response);
      answer.on('error', () => response.destroy());
      answer.on('end', () => resolve());
      response.on('close', () => {
        if (!answer.complete) answer.destroy();
        resolve();
      });
    });
    upstream.on('error', (error) => {
      if (answered) {
        response.destroy();
        resolve();
        return;
      }
      reject(
        new NexStreamError(
          NexStreamErrorCode.Unreachable,
          `the channel's owner ${options.target} did not answer: ${error.message}; try again in a few seconds`,
          { cause: error, retryable: true, retryAfterMs: 1000 },
        ),
      );
    });
    // The client left (or its upload was cut): abort the forwarded request too.
    request.on('aborted', () => upstream.destroy());
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  });
}
