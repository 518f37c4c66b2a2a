import { type ApiError, authHeaders } from './api';

/** A playlist item as the channel API returns it (the fields the page shows). */
export interface ChannelItem {
  id: string;
  originalName: string;
  sizeBytes: number;
  durationMs: number;
}

/** What happened to one file the user chose: the item it became, or why it was refused. */
export type FileOutcome =
  | { name: string; ok: true; item: ChannelItem }
  | { name: string; ok: false; error: ApiError };

/** The upload answer of the broadcaster (`UploadResponse` of `@nexstream/hls-broadcaster`). */
interface UploadBody {
  results?: Array<
    { name: string; ok: true; item: ChannelItem } | { name: string; ok: false; error: ApiError }
  >;
  error?: ApiError;
}

/**
 * Uploads `files` in one request with progress (fetch cannot report upload progress; XMLHttpRequest can)
 * and resolves with one outcome per file, in the order chosen: the server keeps the good files of a batch
 * and says why each other one was refused. A failure of the whole request (connection lost, too many
 * uploads, no permission) is reported against every file. Never rejects.
 */
export function uploadFiles(
  url: string,
  files: readonly File[],
  onProgress: (loaded: number, total: number) => void,
): Promise<FileOutcome[]> {
  const everyFile = (error: ApiError): FileOutcome[] =>
    files.map((file) => ({ name: file.name, ok: false, error }));
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    const form = new FormData();
    for (const file of files) form.append('file', file, file.name);
    request.open('POST', url);
    for (const [name, value] of Object.entries(authHeaders())) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.total);
    request.onload = () => {
      let body: UploadBody | undefined;
      try {
        body = JSON.parse(request.responseText) as UploadBody;
      } catch {
        body = undefined;
      }
      if (body?.results && body.results.length > 0) {
        // The server names files as sent; the names the user chose are shown (they match, in order).
        resolve(
          body.results.map((result, index) => ({ ...result, name: files[index]?.name ?? result.name })),
        );
        return;
      }
      resolve(
        everyFile(
          body?.error ?? {
            code: 'NXS_UPSTREAM',
            message: `the server answered ${request.status} ${request.statusText}`.trim(),
          },
        ),
      );
    };
    request.onerror = () =>
      resolve(
        everyFile({
          code: 'NXS_CONNECTION_LOST',
          message: 'the connection to the server was lost during the upload',
        }),
      );
    request.send(form);
  });
}

/** What the user can do about a refused file, by error code. */
const advice: Record<string, string> = {
  NXS_UNSUPPORTED_MEDIA: 'Choose a video file (for example MP4, MKV or WebM) that plays on your computer.',
  NXS_TOO_LARGE: 'Choose a smaller file, or ask the operator to raise the upload limit.',
  NXS_INVALID_INPUT: 'Rename the file (letters, digits, spaces) and upload it again.',
  NXS_RATE_LIMITED: 'Wait for your other upload to finish, then try again.',
  NXS_TIMEOUT: 'The upload stalled. Check your connection and try again.',
  NXS_UNAUTHORIZED: 'Enter the API key at the top of the page, then try again.',
  NXS_CONNECTION_LOST: 'Check that the server is running and that you are online, then try again.',
};

/** A sentence saying what to do about a refused file (empty when there is nothing specific). */
export function uploadAdvice(error: ApiError): string {
  return advice[error.code] ?? 'Try again; if it keeps failing, ask the operator to check the server log.';
}
