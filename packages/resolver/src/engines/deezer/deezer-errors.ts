import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';
import type { HttpResponse } from '../shared/http-client.js';
import { record, text } from '../shared/track-fields.js';

// Deezer's errors reported inside HTTP 200 bodies, read into NexStreamErrors. Not exported from the package entries; tests import them from here.

/** Deezer's error codes (developers.deezer.com/api/errors), reported inside HTTP 200 bodies. */
export const deezerErrorCodes = {
  quota: 4,
  itemsLimitExceeded: 100,
  permission: 200,
  tokenInvalid: 300,
  parameter: 500,
  parameterMissing: 501,
  queryInvalid: 600,
  serviceBusy: 700,
  dataNotFound: 800,
} as const;

/**
 * Reads a Deezer body's `{"error":{type,message,code}}` (sent with HTTP 200) into a NexStreamError, or
 * `undefined` when the body is not an error. Code 800 ("no data") is "not found"; 4 (quota) and 700
 * (busy) are retryable.
 */
export function deezerBodyError(response: HttpResponse): NexStreamError | undefined {
  const error = record(record(response.data).error);
  if (Object.keys(error).length === 0) return undefined;
  const code = typeof error.code === 'number' ? error.code : Number(error.code);
  const where = `[GET] "${response.url}": Deezer error ${code} ${text(error.type) ?? ''} "${text(error.message) ?? ''}"`;
  const details = { service: 'deezer', deezerCode: code, type: error.type };
  switch (code) {
    case deezerErrorCodes.dataNotFound:
      return new NexStreamError(NexStreamErrorCode.NotFound, where, { retryable: false, details });
    case deezerErrorCodes.quota:
      return new NexStreamError(
        NexStreamErrorCode.RateLimited,
        `${where}; over 50 requests / 5 s, slow down`,
        {
          retryable: true,
          details,
        },
      );
    case deezerErrorCodes.serviceBusy:
      return new NexStreamError(NexStreamErrorCode.Upstream, `${where}; Deezer is busy, try again`, {
        retryable: true,
        details,
      });
    case deezerErrorCodes.parameter:
    case deezerErrorCodes.parameterMissing:
    case deezerErrorCodes.queryInvalid:
      return new NexStreamError(NexStreamErrorCode.InvalidInput, `${where}; the request was malformed`, {
        retryable: false,
        details,
      });
    default:
      return new NexStreamError(NexStreamErrorCode.Upstream, where, { retryable: false, details });
  }
}
