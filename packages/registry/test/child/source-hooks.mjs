// Lets a plain `node` child process run the registry from its TypeScript sources, as vitest does: workspace
// packages resolve to `src/*.ts` through the `@nexstream/source` condition (passed with --conditions), and the
// `.js` specifiers inside them fall back to the `.ts` file next to them. Node strips the types itself.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('/'))) {
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      }
      throw error;
    }
  },
});
