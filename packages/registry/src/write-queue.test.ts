import { describe, expect, it } from 'vitest';
import { createWriteQueue } from './write-queue.js';

const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

function queue(busyTimeoutMs: number, recovered: string[] = []) {
  return createWriteQueue({
    busyTimeoutMs,
    isBusy: (error) => (error as { code?: unknown }).code === 'SQLITE_BUSY',
    recover: async () => {
      recovered.push('recover');
    },
    timeoutError: (error, waitedMs) =>
      Object.assign(new Error(`gave up after ${waitedMs} ms`), { cause: error }),
  });
}

describe('the write queue', () => {
  it('runs tasks one at a time, in order', async () => {
    const writes = queue(1000);
    const log: string[] = [];
    let running = 0;
    const task = (name: string) => async () => {
      running += 1;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
      log.push(`end ${name}`);
      running -= 1;
      return name;
    };
    const results = await Promise.all([writes.run(task('a')), writes.run(task('b')), writes.run(task('c'))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(writes.completed).toBe(3);
  });

  it('retries a task while another process holds the lock, recovering the connection each time', async () => {
    const recovered: string[] = [];
    const writes = queue(5000, recovered);
    let attempts = 0;
    const result = await writes.run(async () => {
      attempts += 1;
      if (attempts < 4) throw busy;
      return 'written';
    });
    expect(result).toBe('written');
    expect(attempts).toBe(4);
    expect(recovered).toHaveLength(3);
    expect(writes.busyRetries).toBe(3);
    expect(writes.failed).toBe(0);
  });

  it('gives up after busyTimeoutMs with the error it is told to build, and keeps serving later tasks', async () => {
    const writes = queue(30);
    await expect(
      writes.run(async () => {
        throw busy;
      }),
    ).rejects.toThrow(/gave up after \d+ ms/);
    await expect(writes.run(async () => 'next')).resolves.toBe('next');
    expect(writes.failed).toBe(1);
    expect(writes.pending).toBe(0);
  });

  it('does not retry other errors', async () => {
    const writes = queue(1000);
    let attempts = 0;
    await expect(
      writes.run(async () => {
        attempts += 1;
        throw new Error('constraint failed');
      }),
    ).rejects.toThrow('constraint failed');
    expect(attempts).toBe(1);
  });
});
