import type { LibavVariant } from './container.js';

/** The libav.js version whose files the worker loads (the file names embed it). */
export const libavVersion = '6.10.9.0';

/** One libav.js file the worker loads at run time. */
export interface LibavAsset {
  /** The variant the file belongs to. */
  variant: LibavVariant;
  /** The npm package that ships it. */
  packageName: '@libav.js/variant-webm' | '@libav.js/variant-webcodecs';
  /** The file name: serve it under this exact name below `libavBaseUrl`. */
  fileName: string;
  /** Where it sits inside the package (`dist/<fileName>`). */
  packagePath: string;
  /** Its `Content-Type` (the `.wasm` must be served as `application/wasm` for streaming compilation). */
  contentType: string;
}

/** The three files of one variant the worker needs: the loader, the Emscripten glue and the WebAssembly. */
export function libavAssetsFor(variant: LibavVariant): LibavAsset[] {
  const packageName = variant === 'webm' ? '@libav.js/variant-webm' : '@libav.js/variant-webcodecs';
  const names: Array<[string, string]> = [
    [`libav-${libavVersion}-${variant}.mjs`, 'text/javascript'],
    [`libav-${libavVersion}-${variant}.wasm.mjs`, 'text/javascript'],
    [`libav-${libavVersion}-${variant}.wasm.wasm`, 'application/wasm'],
  ];
  return names.map(([fileName, contentType]) => ({
    variant,
    packageName,
    fileName,
    packagePath: `dist/${fileName}`,
    contentType,
  }));
}

/**
 * Every libav.js file an app must serve (flat, in one folder, at `libavBaseUrl`) so the edge muxer can
 * remux both WebM and MP4 inputs. They stay separate files on purpose: libav.js is LGPL-2.1 and users
 * must be able to replace them (see the README). Copy them at build time, for example:
 *
 * @example
 * ```ts
 * import { cp } from 'node:fs/promises';
 * import { dirname, join } from 'node:path';
 * import { fileURLToPath } from 'node:url';
 * import { libavAssets } from '@nexstream/edge-muxer';
 *
 * for (const asset of libavAssets) {
 *   const packageDir = dirname(dirname(fileURLToPath(import.meta.resolve(asset.packageName))));
 *   await cp(join(packageDir, asset.packagePath), join('public/libav', asset.fileName));
 * }
 * ```
 */
export const libavAssets: readonly LibavAsset[] = [...libavAssetsFor('webm'), ...libavAssetsFor('webcodecs')];
