import { describe, expect, it } from 'vitest';
import { packCheck } from '../../../scripts/pack-check.mjs';

describe('the packed @nexstream/core', () => {
  it('installs into a scratch ESM project, type-checks with tsc and imports both entries by name', async () => {
    const lines: string[] = [];
    const result = await packCheck({ log: (line) => lines.push(line) });
    expect(result.packageName).toBe('@nexstream/core');
    expect(result.files).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/index.d.ts',
        'dist/node/index.js',
        'dist/node/index.d.ts',
        'README.md',
      ]),
    );
    expect(result.files.some((file) => file.endsWith('.test.ts'))).toBe(false);
    expect(result.output.trim()).toBe('pack-check ok');
    expect(lines).toContain('tsc: the scratch project type-checks against the packed .d.ts files');
    expect(['offline', 'prefer-offline']).toContain(result.installedWith);
  }, 120_000);

  it('still checks the tarball when npm cannot install it, by unpacking it and linking its dependencies', async () => {
    const result = await packCheck({ installModes: [] });
    expect(result.installedWith).toBe('extracted');
    expect(result.output.trim()).toBe('pack-check ok');
  }, 120_000);
});
