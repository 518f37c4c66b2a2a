import { defineProject, type ViteUserConfig } from 'vitest/config';

/**
 * Resolve workspace packages to their TypeScript sources in tests, so tests never need a build first.
 * No `import` / `module` here: vitest hands `externalConditions` to Node as `--conditions`, which Node applies
 * to `require()` too, and CommonJS packages (Express 5's router requiring is-promise) would then get ESM
 * namespaces. Vite adds `import` / `require` per import kind by itself.
 */
const conditions = ['@nexstream/source', 'node', 'default'];
const externalConditions = ['@nexstream/source'];

/** The vitest project of one workspace package (one project per package, run together from the root). */
export function packageProject(name: string, test: NonNullable<ViteUserConfig['test']> = {}): ViteUserConfig {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions } },
    test: {
      name,
      environment: 'node',
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      // On CI's shared 2-core machine a real-clock assertion can lose a race once; a second failure is real.
      // Retried tests are listed as flaky in the output, so they are seen, not hidden.
      retry: process.env.CI ? 1 : 0,
      ...test,
    },
  });
}
