// A second process writing the same registry file, for the concurrency and crash tests.
//   registry-writer.ts upserts <url> <series> <count> [client] : <count> sequential puts, then "done <count>"
//   registry-writer.ts crash <url> <series> <count> [client]   : commits 100 matches ("committed"), then prints
//                                                                "writing" and runs putMany of <count> more
// With `client`, the registry runs on @libsql/client instead of libsql's Database (as an older NexStream would).
import { createRegistry } from '../../src/index.js';
import { createClientRegistry } from '../../src/registry.js';
import { sampleMatch } from '../fixtures.js';

const [mode, url, seriesText, countText, engine] = process.argv.slice(2);
const series = Number(seriesText);
const count = Number(countText);
const open = engine === 'client' ? createClientRegistry : createRegistry;
const registry = await open({ url: url as string, busyTimeoutMs: 30_000 });
console.log('ready');

if (mode === 'upserts') {
  for (let index = 0; index < count; index += 1) await registry.put(sampleMatch(series, index));
  console.log(`done ${count}`);
} else if (mode === 'crash') {
  await registry.putMany(Array.from({ length: 100 }, (_, index) => sampleMatch(series, index)));
  console.log('committed');
  const batch = Array.from({ length: count }, (_, index) => sampleMatch(series, 100 + index));
  console.log('writing');
  await registry.putMany(batch);
  console.log('finished');
}
await registry.close();
