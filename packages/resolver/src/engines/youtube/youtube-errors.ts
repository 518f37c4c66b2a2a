import { NexStreamError, NexStreamErrorCode } from '@nexstream/core';

// yt-dlp's failures (exit code and stderr) read into NexStreamErrors. Not exported from the package entries; tests import them from here.

/** How many of yt-dlp's last stderr lines an error keeps in `details.stderrTail`. */
export const stderrTailLines = 12;

/**
 * Turns a failed yt-dlp run into a NexStreamError: "Video unavailable", private or removed videos and HTTP
 * 404 are `NXS_NOT_FOUND`; "Unsupported URL" is `NXS_INVALID_INPUT`; a name that does not resolve or a
 * refused connection is `NXS_UNREACHABLE`; everything else is
 * `NXS_PROCESS_FAILED` with the last stderr lines (retryable for HTTP 403/429/5xx and network errors).
 */
export function ytDlpError(stderr: string, exitCode: number | undefined, target: string): NexStreamError {
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  const tail = lines.slice(-stderrTailLines).join('\n');
  const errorLine =
    [...lines].reverse().find((line) => line.startsWith('ERROR:')) ?? lines[lines.length - 1] ?? '';
  const details = { exitCode, stderrTail: tail };
  if (
    /Video unavailable|This video (is private|has been removed|is no longer available)|HTTP Error 404|does not exist/i.test(
      errorLine,
    )
  ) {
    return new NexStreamError(
      NexStreamErrorCode.NotFound,
      `yt-dlp: ${target} is not available: ${errorLine}`,
      {
        retryable: false,
        details,
      },
    );
  }
  if (/Unsupported URL|No suitable extractor/i.test(errorLine)) {
    return new NexStreamError(NexStreamErrorCode.InvalidInput, `yt-dlp cannot read ${target}: ${errorLine}`, {
      retryable: false,
      details,
    });
  }
  if (
    /Temporary failure in name resolution|Name or service not known|nodename nor servname|No address associated with hostname|getaddrinfo failed|Connection refused|Network is unreachable|No route to host/i.test(
      errorLine,
    )
  ) {
    return new NexStreamError(
      NexStreamErrorCode.Unreachable,
      `yt-dlp cannot reach ${target}: ${errorLine}; check the server's internet access, DNS, firewall or proxy`,
      { retryable: true, details },
    );
  }
  const retryable = /HTTP Error (403|429|5\d\d)|timed out|Temporary failure|Connection (refused|reset)/i.test(
    tail,
  );
  const hint = /HTTP Error 403|Sign in to confirm/i.test(tail)
    ? ' (YouTube refused: update yt-dlp, install yt-dlp-ejs and a JS runtime such as deno, or pass cookies)'
    : '';
  return new NexStreamError(
    NexStreamErrorCode.ProcessFailed,
    `yt-dlp failed on ${target} (exit ${exitCode ?? 'unknown'})${hint}:\n${tail}`,
    { retryable, details },
  );
}
