// Resumable HTTP(S) download into `<dest>.part`, renamed to `dest` when complete. A `.part` file left
// by an earlier, interrupted attempt is continued with a Range request; a connection that drops
// mid-file is retried the same way, a few times, before giving up with a message saying that the
// same command resumes. A server that ignores Range starts the file again.
import { open, rename, rm, stat } from 'node:fs/promises';

export class DownloadError extends Error {
  /** True when trying again may help (a stalled connection, a server error). */
  constructor(message: string, readonly retry = false) {
    super(message);
    this.name = 'DownloadError';
  }
}

export interface DownloadOptions {
  /** Bytes the finished file must have, when known. */
  expectedBytes?: number;
  /** Tries per call, counting the first (default 5). */
  attempts?: number;
  /** Pause before retry k (1-based), ms (default 2000·k). */
  retryDelayMs?: (attempt: number) => number;
  /** A connection that delivers nothing for this long is dropped and retried (default 60 s). */
  idleTimeoutMs?: number;
  /** Called as bytes arrive: bytes on disk, total (0 when unknown), bytes fetched in this call. */
  onProgress?: (have: number, total: number, fetched: number) => void;
  log?: (line: string) => void;
}

interface Attempt {
  /** Bytes in the .part file after the attempt. */
  have: number;
  total: number;
  complete: boolean;
}

const partPath = (dest: string) => `${dest}.part`;

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Parses "bytes a-b/total" (or "bytes * /total"). */
function contentRange(header: string | null): { start: number; total: number } | null {
  const m = /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/i.exec(header?.trim() ?? '');
  if (!m) return null;
  return { start: m[1] === undefined ? -1 : Number(m[1]), total: m[2] === '*' ? 0 : Number(m[2]) };
}

async function attempt(url: string, part: string, options: DownloadOptions, fetchedSoFar: { bytes: number }): Promise<Attempt> {
  let have = await sizeOf(part);
  const controller = new AbortController();
  let idle: NodeJS.Timeout | undefined;
  const idleMs = options.idleTimeoutMs ?? 60_000;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(new DownloadError(`no data for ${idleMs / 1000} s`, true)), idleMs);
  };
  armIdle();
  try {
    // identity: a server must not gzip the bytes on the wire (fetch would undo it and break Range).
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (have > 0) headers.range = `bytes=${have}-`;
    const response = await fetch(url, { headers, signal: controller.signal, redirect: 'follow' });
    let total = 0;
    if (response.status === 416 && have > 0) {
      // Nothing past what we have: complete if the server's length agrees, else start again.
      const range = contentRange(response.headers.get('content-range'));
      await response.body?.cancel();
      if (range && range.total === have) return { have, total: have, complete: true };
      await rm(part, { force: true });
      return { have: 0, total: 0, complete: false };
    }
    if (response.status === 206 && have > 0) {
      const range = contentRange(response.headers.get('content-range'));
      if (!range || range.start !== have) {
        await response.body?.cancel();
        options.log?.(`${url}: the server answered the resume request with another range (${response.headers.get('content-range')}); starting again`);
        await rm(part, { force: true });
        return { have: 0, total: 0, complete: false };
      }
      total = range.total;
    } else if (response.status === 200) {
      if (have > 0) options.log?.(`${url}: the server does not resume downloads (no Range support); starting again from byte 0`);
      have = 0;
      total = Number(response.headers.get('content-length') ?? 0);
    } else {
      await response.body?.cancel();
      throw new DownloadError(`${url}: HTTP ${response.status} ${response.statusText}`, response.status >= 500 || response.status === 429);
    }
    if (options.expectedBytes && total && total !== options.expectedBytes) {
      await response.body?.cancel();
      throw new DownloadError(`${url}: the server offers ${total} bytes, the published archive has ${options.expectedBytes}; wrong file or mirror`);
    }
    // The disk's errors (full, read-only, no permission) are not the network's: retrying cannot help.
    const disk = (e: unknown): never => {
      throw new DownloadError(`${part}: cannot write the download (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    };
    const file = await open(part, have > 0 ? 'a' : 'w').catch(disk);
    try {
      if (!response.body) throw new DownloadError(`${url}: empty response`);
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        armIdle();
        await file.write(chunk).catch(disk);
        have += chunk.length;
        fetchedSoFar.bytes += chunk.length;
        options.onProgress?.(have, total, fetchedSoFar.bytes);
      }
    } finally {
      await file.close();
    }
    return { have, total, complete: total === 0 || have === total };
  } finally {
    clearTimeout(idle);
  }
}

/** Why a failed attempt failed, in one line. */
function reason(e: unknown): string {
  const error = e as Error & { cause?: Error & { code?: string } };
  const cause = error.cause ? `: ${error.cause.code ?? error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/**
 * Downloads `url` to `dest` (resuming `<dest>.part`). Returns the file's size. Throws a
 * DownloadError after `attempts` tries in a row that brought no new bytes (or at once for an answer
 * that retrying cannot change, such as HTTP 404); the .part file stays for the next call.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<number> {
  const part = partPath(dest);
  const attempts = options.attempts ?? 5;
  const delay = options.retryDelayMs ?? ((k: number) => 2000 * k);
  const fetched = { bytes: 0 };
  let failures = 0;
  for (;;) {
    const before = await sizeOf(part);
    let problem: string;
    try {
      const result = await attempt(url, part, options, fetched);
      if (result.complete) {
        if (options.expectedBytes && result.have !== options.expectedBytes) {
          await rm(part, { force: true });
          throw new DownloadError(`${url}: downloaded ${result.have} bytes, the published archive has ${options.expectedBytes}; wrong file or mirror`);
        }
        await rename(part, dest);
        return result.have;
      }
      problem = result.total ? `the connection closed after byte ${result.have} of ${result.total}` : 'the server restarted the file';
    } catch (e) {
      if (e instanceof DownloadError && !e.retry) throw e;
      problem = reason(e);
    }
    const now = await sizeOf(part);
    failures = now > before ? 1 : failures + 1; // a try that brought bytes starts the count again
    if (failures >= attempts) {
      throw new DownloadError(`${url}: download failed (${problem}); ${now} bytes are kept in ${part}: run the same command again to resume`);
    }
    options.log?.(`download interrupted at byte ${now} (${problem}); resuming in ${(delay(failures) / 1000).toFixed(0)} s ...`);
    await new Promise((r) => setTimeout(r, delay(failures)));
  }
}
