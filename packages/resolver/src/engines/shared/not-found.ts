import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

/**
 * The one way an engine turns "not found" into its answer: resolves to `missing` (`null` for a look-up, `[]`
 * for a search) when the call fails with `NXS_NOT_FOUND`, which the shared HTTP client gives for a 404 and an
 * engine's body check gives for the service's own "no data" (Deezer error 800). Every other failure passes
 * through. See the "not found" rule of `MetadataEngine` and `VideoEngine` in `engine.ts`.
 */
export async function unlessNotFound<T, M>(call: Promise<T>, missing: M): Promise<T | M> {
  try {
    return await call;
  } catch (error) {
    if (NexStreamError.is(error) && error.code === NexStreamErrorCode.NotFound) return missing;
    throw error;
  }
}
