/**
 * `@nexstream/edge-muxer`: stream-copy muxing of separate video and audio in the browser (libav.js in a
 * dedicated Worker, `noworker` mode inside it) and the download pump that hands the result to the
 * browser's download manager through a Service Worker (with save-picker, OPFS and Blob fallbacks).
 * The Worker and Service Worker scripts are the `./worker` and `./sw` entries (`dist/browser/*.js`).
 *
 * @packageDocumentation
 */
export { type LibavAsset, libavAssets, libavAssetsFor, libavVersion } from './assets.js';
export {
  assertCodecFits,
  chooseLibavVariant,
  containerExtensions,
  containerMimeTypes,
  type InputFamily,
  isMp4Family,
  type LibavVariant,
  type MuxContainer,
  type MuxEngine,
  type MuxWriter,
  muxContainers,
  muxerNames,
  sniffInputFamily,
} from './container.js';
export { defaultCoverMaxBytes, type MuxCover, type MuxMetadata } from './metadata.js';
export { type MuxInput, type MuxOptions, mux } from './mux.js';
export type {
  MuxPhase,
  MuxProgress,
  MuxWarning,
  MuxWarningCode,
  ServiceWorkerDownloadEntry,
} from './protocol.js';
export {
  defaultSaveMethods,
  listServiceWorkerDownloads,
  type SaveMethod,
  type SaveResult,
  type SaveStreamOptions,
  saveStream,
} from './save-stream.js';
