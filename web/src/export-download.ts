// An export fetched with its progress shown honestly: the server answers only once the MP4 is
// made (a phase of unknown length), then the body arrives with a Content-Length to count against.
import { ApiError, token } from './api.js';

export type ExportProgress =
  | { phase: 'preparing' }
  | { phase: 'downloading'; received: number; total: number | undefined };

/** Above this an export is not held in the page's memory: it is saved by the browser instead. */
export const MAX_IN_MEMORY_BYTES = 1024 * 1024 * 1024;

/**
 * GETs `url` with the bearer token, reporting progress; resolves with the file as a Blob.
 * Rejects with ApiError (the server's problem: NO_RECORDINGS, RANGE_TOO_LONG, …), with
 * `TOO_LARGE` when the file is over MAX_IN_MEMORY_BYTES, or an AbortError when `signal` fires.
 */
export async function downloadExport(
  url: string,
  onProgress: (progress: ExportProgress) => void,
  signal: AbortSignal,
): Promise<{ blob: Blob; fileName: string | undefined }> {
  onProgress({ phase: 'preparing' });
  const res = await fetch(url, { headers: { authorization: `Bearer ${token()}` }, signal });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => undefined));
  const length = Number(res.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : undefined;
  if (total !== undefined && total > MAX_IN_MEMORY_BYTES) {
    await res.body?.cancel();
    throw new ApiError(413, {
      code: 'TOO_LARGE',
      detail: 'the file is too large to hold here; use the download link',
    });
  }
  const fileName = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1];
  const reader = res.body!.getReader();
  const parts: Uint8Array[] = [];
  let received = 0;
  onProgress({ phase: 'downloading', received, total });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    received += value.byteLength;
    onProgress({ phase: 'downloading', received, total });
  }
  return { blob: new Blob(parts as BlobPart[], { type: 'video/mp4' }), fileName };
}

/** A byte count for people: 1.2 MB. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
