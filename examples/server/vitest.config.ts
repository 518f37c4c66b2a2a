import { packageProject } from '../../vitest.shared.js';

export default packageProject('@nexstream/example-server', { testTimeout: 180_000, hookTimeout: 300_000 });
