import { defineProject, type ViteUserConfig } from 'vitest/config';

/** Resolve workspace packages to their TypeScript sources in tests, so tests never need a build first. */
const conditions = ['@nexstream/source', 'module', 'node', 'import', 'default'];

/** The vitest project of one workspace package (one project per package, run together from the root). */
export function packageProject(name: string, test: NonNullable<ViteUserConfig['test']> = {}): ViteUserConfig {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: {
      name,
      environment: 'node',
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      ...test,
    },
  });
}
