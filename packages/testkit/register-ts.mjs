// `node --import @nexstream/testkit/register-ts file.ts`: run this workspace's TypeScript sources without a
// build (tests that start child processes, benchmarks).
import { register } from 'node:module';

register(new URL('./ts-loader.mjs', import.meta.url));
