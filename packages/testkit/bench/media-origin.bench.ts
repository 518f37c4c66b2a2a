/**
 * Media origin figures: throttle accuracy at 1 MB/s (one connection, 3 MB) and unthrottled throughput of a
 * 200 MB file over loopback, with the CPU time the whole process spent. Prints one JSON line last.
 * Run: npx turbo run build --filter=@nexstream/testkit && npm run bench -w @nexstream/testkit
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMediaOrigin } from '@nexstream/testkit';

async function download(url: string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(url, { headers });
  let received = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) received += chunk.byteLength;
  return received;
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const scratch = await mkdtemp(join(tmpdir(), 'nxs-origin-bench-'));
const origin = await startMediaOrigin();
try {
  const small = join(scratch, 'small.bin');
  await writeFile(small, randomBytes(3 * 1024 * 1024));
  const big = join(scratch, 'big.bin');
  const handle = await open(big, 'w');
  const block = randomBytes(4 * 1024 * 1024);
  for (let index = 0; index < 50; index += 1) await handle.write(block);
  await handle.close();

  const smallUrl = origin.add('small.mp4', small);
  const bigUrl = origin.add('big.mp4', big);

  const rateBytesPerSecond = 1024 * 1024;
  origin.throttle(rateBytesPerSecond);
  const throttleErrors: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    const bytes = await download(smallUrl);
    const seconds = (performance.now() - startedAt) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const measured = bytes / seconds;
    throttleErrors.push(Math.abs(measured - rateBytesPerSecond) / rateBytesPerSecond);
    console.log(
      `throttled run ${run}: ${(measured / 1024 / 1024).toFixed(3)} MB/s, cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms over ${seconds.toFixed(2)} s`,
    );
  }
  origin.throttle(undefined);

  const throughputs: number[] = [];
  const cpuShares: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    const bytes = await download(bigUrl);
    const seconds = (performance.now() - startedAt) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    throughputs.push(bytes / seconds / 1024 / 1024);
    cpuShares.push((cpu.user + cpu.system) / 1e6 / seconds);
    console.log(
      `unthrottled run ${run}: ${bytes} bytes at ${(bytes / seconds / 1024 / 1024).toFixed(0)} MB/s`,
    );
  }
  console.log(
    JSON.stringify({
      throttleRateBytesPerSecond: rateBytesPerSecond,
      throttleRelativeErrorMedian: Number(median(throttleErrors).toFixed(4)),
      unthrottled200MbMedianMBps: Number(median(throughputs).toFixed(1)),
      unthrottledCpuCoresMedian: Number(median(cpuShares).toFixed(2)),
    }),
  );
} finally {
  await origin.close();
  await rm(scratch, { recursive: true, force: true });
}
