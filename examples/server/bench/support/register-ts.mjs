// `node --import ./register-ts.mjs file.ts`: run the workspace's TypeScript sources without a build.
import { register } from 'node:module';

register(new URL('./ts-loader.mjs', import.meta.url));
