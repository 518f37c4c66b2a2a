import { describe, expect, it } from 'vitest';
import { NexStreamError } from '../errors.js';
import { createTunnelGuard } from './tunnel-guard.js';

async function verdict(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'allowed';
  } catch (error) {
    return NexStreamError.is(error) ? error.code : String(error);
  }
}

describe('the tunnel guard', () => {
  const publicLookup = async () => [{ address: '142.250.185.206', family: 4 }];

  it('allows googlevideo subdomains that resolve to public addresses by default', async () => {
    const guard = createTunnelGuard({ lookup: publicLookup });
    const target = await guard.check('https://rr3---sn-4g5e6nzz.googlevideo.com/videoplayback?expire=1');
    expect(target.addresses).toEqual([{ address: '142.250.185.206', family: 4 }]);
  });

  it('refuses hosts outside the allow-list, other schemes, credentials and over-long URLs', async () => {
    const guard = createTunnelGuard({ lookup: publicLookup });
    for (const url of [
      'https://googlevideo.com/x',
      'https://evil.example/videoplayback',
      'https://rr1.googlevideo.com.evil.example/x',
      'file:///etc/passwd',
      'ftp://rr1.googlevideo.com/x',
      'https://user:pass@rr1.googlevideo.com/x',
      `https://rr1.googlevideo.com/videoplayback?${'a'.repeat(5000)}`,
      'not a url',
    ]) {
      expect(await verdict(guard.check(url)), url).toBe('NXS_FORBIDDEN');
    }
  });

  it('refuses an allowed host name that resolves to a private or loopback address', async () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '169.254.169.254', '::1', 'fd00::1', '::ffff:10.0.0.1']) {
      const guard = createTunnelGuard({
        lookup: async () => [{ address, family: address.includes(':') ? 6 : 4 }],
      });
      expect(await verdict(guard.check('https://rr1.googlevideo.com/x')), address).toBe('NXS_FORBIDDEN');
    }
  });

  it('refuses private, loopback, link-local and IPv4-embedding IPv6 literals even when allow-listed', async () => {
    const hosts = [
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fe80::1',
      'fc00::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a00:1',
      '2002:a00:1::1',
    ];
    const guard = createTunnelGuard({ allowedHosts: hosts });
    for (const host of hosts) {
      const url = host.includes(':') ? `http://[${host}]/x` : `http://${host}/x`;
      expect(await verdict(guard.check(url)), url).toBe('NXS_FORBIDDEN');
    }
    expect(await verdict(guard.check('http://0x7f.1/x'))).toBe('NXS_FORBIDDEN');
  });

  it('lets loopback through only when asked to, and nothing else private', async () => {
    const guard = createTunnelGuard({ allowedHosts: ['127.0.0.1:8080', '10.0.0.1'], allowLoopback: true });
    expect(await verdict(guard.check('http://127.0.0.1:8080/media/x'))).toBe('allowed');
    expect(await verdict(guard.check('http://10.0.0.1/media/x'))).toBe('NXS_FORBIDDEN');
    expect(guard.isAllowedAddress('::ffff:127.0.0.1')).toBe(true);
    expect(guard.isAllowedAddress('192.168.0.10')).toBe(false);
  });

  it('allows the port of each entry only: no port means the default of the scheme, host:* any port', async () => {
    const guard = createTunnelGuard({
      allowedHosts: ['127.0.0.1:8443', '[::1]:9000', 'media.example.net', 'any.example.net:*'],
      allowLoopback: true,
      lookup: async () => [{ address: '93.184.216.34', family: 4 }],
    });
    expect(await verdict(guard.check('http://127.0.0.1:8443/media/x'))).toBe('allowed');
    expect(await verdict(guard.check('http://127.0.0.1:8444/media/x'))).toBe('NXS_FORBIDDEN');
    expect(await verdict(guard.check('http://127.0.0.1/media/x'))).toBe('NXS_FORBIDDEN');
    expect(await verdict(guard.check('http://[::1]:9000/x'))).toBe('allowed');
    expect(await verdict(guard.check('http://[::1]:22/x'))).toBe('NXS_FORBIDDEN');
    expect(await verdict(guard.check('https://media.example.net/x'))).toBe('allowed');
    expect(await verdict(guard.check('https://media.example.net:443/x'))).toBe('allowed');
    expect(await verdict(guard.check('http://media.example.net/x'))).toBe('allowed');
    expect(await verdict(guard.check('https://media.example.net:8080/x'))).toBe('NXS_FORBIDDEN');
    expect(await verdict(guard.check('http://media.example.net:443/x'))).toBe('NXS_FORBIDDEN');
    expect(await verdict(guard.check('https://any.example.net:6379/x'))).toBe('allowed');
    expect(() => createTunnelGuard({ allowedHosts: ['127.0.0.1:70000'] })).toThrow(/port/);
  });

  it('re-checks at connect time through its lookup', async () => {
    const guard = createTunnelGuard({ lookup: async () => [{ address: '10.0.0.7', family: 4 }] });
    const result = await new Promise<{ error: Error | null }>((resolve) => {
      (guard.connectLookup as unknown as (h: string, o: object, cb: (e: Error | null) => void) => void)(
        'rr1.googlevideo.com',
        { all: true },
        (error) => resolve({ error }),
      );
    });
    expect(NexStreamError.is(result.error) && result.error.code).toBe('NXS_FORBIDDEN');
  });
});
