import { isIP } from 'node:net';
import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { Request } from 'express';
import type { ServerConfig } from './config.js';
import type { Handler } from './http.js';

/** Host names a loopback-bound server always answers. */
const loopbackNames = ['localhost', '127.0.0.1', '::1'];

/** True when the server listens on a loopback interface only. */
function boundToLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}

/** The host name of a `Host` header, lower case, without its port and brackets; `undefined` when malformed. */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    const { hostname } = new URL(`http://${header}`);
    return hostname
      .replace(/^\[|\]$/g, '')
      .toLowerCase()
      .replace(/\.$/, '');
  } catch {
    return undefined;
  }
}

/**
 * True when `name` is one of `allowed`: an exact name, `.domain` for the domain and its subdomains, or `*`.
 */
function listed(name: string, allowed: readonly string[]): boolean {
  return allowed.some((entry) => {
    if (entry === '*') return true;
    const bare = entry.replace(/^\[|\]$/g, '');
    if (bare.startsWith('.')) return name === bare.slice(1) || name.endsWith(bare);
    return name === bare;
  });
}

/**
 * Refuses requests whose `Host` is not this server's, as Vite's `server.allowedHosts` does: a page on
 * another site that rebinds its own DNS name to 127.0.0.1 (DNS rebinding) sends its own name as `Host`,
 * so a loopback-bound server answers only `localhost`, `127.0.0.1`, `[::1]` and `config.allowedHosts`.
 * A server bound to another interface checks the list when one is set. 403 `NXS_FORBIDDEN` otherwise.
 */
export function hostGuard(config: ServerConfig): Handler {
  const strict = boundToLoopback(config.host);
  const allowed = strict ? [...loopbackNames, ...config.allowedHosts] : config.allowedHosts;
  const active = strict || config.allowedHosts.length > 0;
  return (request, _response, next) => {
    if (!active) return next();
    const name = hostName(request.headers.host);
    if (name !== undefined && listed(name, allowed)) return next();
    next(
      new NexStreamError(
        NexStreamErrorCode.Forbidden,
        `this server does not answer for host ${JSON.stringify(String(request.headers.host ?? '').slice(0, 100))}: open it as http://localhost, or add the name to NEXSTREAM_ALLOWED_HOSTS`,
        { retryable: false },
      ),
    );
  };
}

/** Methods that change nothing (and are never refused as cross-site). */
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True for a request that changes state or starts work: any unsafe method, and a resolve (it may write the registry). */
function isChanging(request: Request): boolean {
  return !safeMethods.has(request.method) || request.path === '/api/resolve';
}

/**
 * Refuses a changing request (upload, channel control, seed, plan, resolve) sent by a page on another
 * site, unless its origin is configured in `config.allowedOrigins`. A browser says where a request comes
 * from in `Sec-Fetch-Site` and `Origin`; a request with neither is not from a browser page (curl, a
 * server) and is left to the API key. 403 `NXS_FORBIDDEN` otherwise.
 */
export function originGuard(config: ServerConfig): Handler {
  const allowed = new Set(config.allowedOrigins);
  return (request, _response, next) => {
    if (!isChanging(request)) return next();
    const origin = typeof request.headers.origin === 'string' ? request.headers.origin : undefined;
    const site = request.headers['sec-fetch-site'];
    if (origin !== undefined && allowed.has(origin)) return next();
    if (site === 'same-origin' || site === 'none') return next();
    if (origin === undefined && site === undefined) return next();
    if (origin !== undefined && site === undefined && origin === ownOrigin(request)) return next();
    next(
      new NexStreamError(
        NexStreamErrorCode.Forbidden,
        `a page on ${origin ?? 'another site'} may not ${request.method} ${request.path}: add its origin to NEXSTREAM_ALLOWED_ORIGINS to allow it`,
        { retryable: false },
      ),
    );
  };
}

/** The origin the request was sent to (`http://<Host>`, or https behind a proxy that says so). */
function ownOrigin(request: Request): string {
  return `${request.protocol}://${request.headers.host ?? ''}`;
}
