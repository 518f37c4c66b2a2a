import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { NexStreamError, NexStreamErrorCode } from '../errors.js';

/** One address a host name resolves to. */
export interface TunnelLookupAddress {
  address: string;
  /** 4 or 6. */
  family: number;
}

/** Resolves a host name to every address it has (the default uses the OS resolver, `dns.lookup`). */
export type TunnelLookup = (hostname: string) => Promise<TunnelLookupAddress[]>;

/** Options for {@link createTunnelGuard}. */
export interface TunnelGuardOptions {
  /**
   * Hosts the tunnel may fetch from: an exact host name or IP (`rr1.example.net`, `[2001:db8::1]`), or
   * `*.domain` for any subdomain of `domain` (not the domain itself), each optionally with a port:
   * `127.0.0.1:8443` allows that port only, `host:*` any port. An entry without a port allows the scheme's
   * default port only (443 for https, 80 for http), so a loopback entry never opens every local service.
   * Case-insensitive. Default {@link defaultTunnelAllowedHosts} (YouTube's CDN).
   */
  allowedHosts?: readonly string[];
  /** Let loopback addresses (127.0.0.0/8, ::1) through. For tests against a local origin only. Default false. */
  allowLoopback?: boolean;
  /** The resolver used for the check and for every connection. Default `dns.lookup` with `all: true`. */
  lookup?: TunnelLookup;
  /** URLs longer than this are refused, in characters. Default 4096 (googlevideo URLs are ~1–2 KB). */
  maxUrlLength?: number;
}

/** A URL that passed the guard. */
export interface GuardedTarget {
  url: URL;
  /** The addresses the host resolved to, all of them allowed. */
  addresses: TunnelLookupAddress[];
}

/** Decides which outbound URLs the tunnel may fetch. Created by {@link createTunnelGuard}. */
export interface TunnelGuard {
  /**
   * Checks a URL: http(s) only, no credentials, not over-long, an allowed host, and every address it
   * resolves to public (or loopback when allowed). Call it for the first URL and for every redirect hop.
   *
   * @throws NexStreamError `NXS_FORBIDDEN` naming the rule the URL broke.
   */
  check(url: string | URL): Promise<GuardedTarget>;
  /**
   * A `lookup` for `net.connect` / undici's `connect` options that re-checks every address at connect
   * time, so a DNS answer that changes between the check and the connection (DNS rebinding) is refused.
   */
  readonly connectLookup: LookupFunction;
  /** True when `address` (an IP literal) may be connected to. */
  isAllowedAddress(address: string): boolean;
}

/** YouTube's media CDN: where yt-dlp's format URLs point. */
export const defaultTunnelAllowedHosts: readonly string[] = ['*.googlevideo.com'];

const blocked = new BlockList();
// IPv4: "this network", private, CGNAT, loopback, link-local, IETF protocol assignments, documentation,
// benchmarking, multicast, reserved and broadcast.
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
// IPv6: unspecified, loopback, unique local, link-local, site-local, multicast, documentation, discard.
// Forms that embed an IPv4 address (mapped, NAT64, 6to4, compatible) are checked by their IPv4 part.
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['100::', 64],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * The outbound-request policy of the tunnel: an allow-list of hosts plus a check of every resolved address
 * against private, loopback, link-local and other non-public ranges (with `net.BlockList`), repeated at
 * connect time. This keeps the tunnel from becoming an open proxy into the server's network even when an
 * origin URL (or a redirect) points somewhere it should not.
 */
export function createTunnelGuard(options: TunnelGuardOptions = {}): TunnelGuard {
  const entries = options.allowedHosts ?? defaultTunnelAllowedHosts;
  const allowedHosts = entries.map((entry) => parseAllowedHost(entry));
  const allowLoopback = options.allowLoopback ?? false;
  const lookup = options.lookup ?? defaultLookup;
  const maxUrlLength = options.maxUrlLength ?? 4096;

  function isAllowedAddress(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    const embedded = family === 6 ? embeddedIpv4(address) : undefined;
    if (embedded !== undefined) return isAllowedAddress(embedded);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (allowLoopback && loopback.check(address, type)) return true;
    return !blocked.check(address, type);
  }

  function hostAllowed(hostname: string, port: number, defaultPort: number): boolean {
    return allowedHosts.some(
      ({ host: pattern, port: allowedPort }) =>
        (allowedPort === '*' ||
          allowedPort === port ||
          (allowedPort === 'default' && port === defaultPort)) &&
        (pattern.startsWith('*.')
          ? hostname.endsWith(pattern.slice(1)) && hostname.length > pattern.length - 1
          : hostname === pattern),
    );
  }

  async function resolveChecked(hostname: string): Promise<TunnelLookupAddress[]> {
    const literal = stripBrackets(hostname);
    if (isIP(literal)) {
      if (!isAllowedAddress(literal)) throw refused(`${literal} is a private, loopback or reserved address`);
      return [{ address: literal, family: isIP(literal) }];
    }
    let addresses: TunnelLookupAddress[];
    try {
      addresses = await lookup(hostname);
    } catch (cause) {
      throw new NexStreamError(NexStreamErrorCode.Upstream, `could not resolve ${hostname}`, { cause });
    }
    if (addresses.length === 0) {
      throw new NexStreamError(NexStreamErrorCode.Upstream, `${hostname} resolved to no address`);
    }
    const bad = addresses.find((entry) => !isAllowedAddress(entry.address));
    if (bad) {
      throw refused(`${hostname} resolves to ${bad.address}, a private, loopback or reserved address`);
    }
    return addresses;
  }

  const connectLookup = ((hostname: string, lookupOptions: unknown, callback: unknown) => {
    const done = (typeof lookupOptions === 'function' ? lookupOptions : callback) as (
      error: Error | null,
      address: string | TunnelLookupAddress[],
      family?: number,
    ) => void;
    const all =
      typeof lookupOptions === 'object' && lookupOptions !== null && (lookupOptions as { all?: boolean }).all;
    resolveChecked(hostname).then(
      (addresses) => {
        if (all) done(null, addresses);
        else done(null, addresses[0]?.address ?? '', addresses[0]?.family ?? 4);
      },
      (error: Error) => done(error, all ? [] : ''),
    );
  }) as unknown as LookupFunction;

  return {
    isAllowedAddress,
    connectLookup,
    async check(input) {
      const text = String(input);
      if (text.length > maxUrlLength) {
        throw refused(`the URL is ${text.length} characters long (limit ${maxUrlLength})`);
      }
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw refused('the URL is malformed');
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw refused(`the ${url.protocol} scheme is not allowed (http and https only)`);
      }
      if (url.username || url.password) throw refused('URLs with credentials are not allowed');
      const hostname = normalizeHost(url.hostname);
      const defaultPort = url.protocol === 'https:' ? 443 : 80;
      if (!hostAllowed(hostname, url.port ? Number(url.port) : defaultPort, defaultPort)) {
        throw refused(`${url.host} is not an allowed host and port (allowed: ${entries.join(', ')})`);
      }
      const addresses = await resolveChecked(hostname);
      return { url, addresses };
    },
  };
}

async function defaultLookup(hostname: string): Promise<TunnelLookupAddress[]> {
  return dnsLookup(hostname, { all: true, verbatim: true });
}

/** One allow-list entry: a host pattern and the port it allows (`*`: any; `default`: the scheme's own). */
interface AllowedHost {
  host: string;
  port: number | '*' | 'default';
}

/**
 * Reads an allow-list entry: `host`, `host:port`, `host:*`, `[v6]`, `[v6]:port`. A bare IPv6 address
 * (`::1`) has no port.
 */
function parseAllowedHost(entry: string): AllowedHost {
  const text = entry.trim().toLowerCase();
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5}|\*)$/.exec(text);
  if (!match) return { host: normalizeHost(text), port: 'default' };
  const port = match[2] === '*' ? '*' : Number(match[2]);
  if (port !== '*' && (port < 1 || port > 65_535)) {
    throw new NexStreamError(
      NexStreamErrorCode.InvalidInput,
      `tunnel allow-list entry ${JSON.stringify(entry)}: the port must be 1-65535 or *`,
    );
  }
  return { host: normalizeHost(match[1] ?? ''), port };
}

function normalizeHost(host: string): string {
  return stripBrackets(host.trim().toLowerCase()).replace(/\.$/, '');
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The IPv4 address inside an IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) or 6to4 address. */
function embeddedIpv4(address: string): string | undefined {
  const groups = expandIpv6(address);
  if (!groups) return undefined;
  const v4 = (high: number, low: number): string => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const zeroPrefix = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroPrefix && g5 === 0xffff) return v4(g6, g7);
  if (zeroPrefix && g5 === 0 && (g6 !== 0 || g7 > 1)) return v4(g6, g7);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return v4(g6, g7);
  if (g0 === 0x2002) return v4(g1, g2);
  return undefined;
}

function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  // A trailing dotted IPv4 part (::ffff:127.0.0.1) becomes two hex groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail].map(
    (group) => Number.parseInt(group, 16),
  );
  return groups.length === 8 &&
    groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff)
    ? groups
    : undefined;
}

function refused(reason: string): NexStreamError {
  return new NexStreamError(NexStreamErrorCode.Forbidden, `tunnel refused the origin URL: ${reason}`, {
    retryable: false,
  });
}
