// Lets `node` run this workspace's TypeScript sources directly (Node 24 strips the types): resolves `./x.js`
// to `./x.ts` when only the .ts exists, and workspace packages to their sources (`@nexstream/source`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function resolve(specifier, context, nextResolve) {
  const conditions = [...new Set(['@nexstream/source', ...(context.conditions ?? [])])];
  try {
    return await nextResolve(specifier, { ...context, conditions });
  } catch (error) {
    if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('/'))) {
      const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (existsSync(fileURLToPath(candidate)))
        return nextResolve(candidate.href, { ...context, conditions });
    }
    throw error;
  }
}
