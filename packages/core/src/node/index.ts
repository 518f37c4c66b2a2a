/**
 * `@nexstream/core/node`: the Node-only half of core: locating external programs (and, as the packages
 * grow, the SSE response writer and the tunnel).
 *
 * @packageDocumentation
 */
export {
  type LocatedProgram,
  type LocateProgramOptions,
  locateProgram,
  type ProgramName,
  parseVersion,
  programEnvVars,
} from './programs.js';
