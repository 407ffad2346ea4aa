// Crash-safe file replacement: readers see either the old file or the complete new one, never a
// partial write. Recipe: write `path.tmp-<pid>`, fsync it, rename it over `path`, fsync the folder
// (so the rename itself survives a power cut; skipped where the platform cannot open folders).
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Writes of one path within this process run one after another (they share the temp name). */
const pending = new Map<string, Promise<void>>();

/**
 * Replaces `path` with `data` atomically, creating parent folders. On failure the temp file is
 * removed and any previous file at `path` is left untouched.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  return writeFileAtomicWith(path, (handle) => handle.writeFile(data));
}

/**
 * Like writeFileAtomic, but `fill` writes the temp file through its handle (large files written in
 * chunks, never held whole in memory).
 */
export function writeFileAtomicWith(path: string, fill: (handle: FileHandle) => Promise<void>): Promise<void> {
  const key = resolve(path);
  const previous = pending.get(key) ?? Promise.resolve();
  const current = previous.then(
    () => writeNow(path, fill),
    () => writeNow(path, fill),
  );
  pending.set(key, current);
  const cleanup = () => {
    if (pending.get(key) === current) pending.delete(key);
  };
  current.then(cleanup, cleanup);
  return current;
}

async function writeNow(path: string, fill: (handle: FileHandle) => Promise<void>): Promise<void> {
  const dir = dirname(path);
  const tmp = `${path}.tmp-${process.pid}`;
  let handle: FileHandle | undefined;
  try {
    await fsp.mkdir(dir, { recursive: true });
    handle = await fsp.open(tmp, 'w');
    await fill(handle);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, path);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`${path}: atomic write failed: ${(err as Error).message}`, { cause: err });
  }
  await syncDirectory(dir);
}

/** fsyncs a folder so a rename inside it is durable; a no-op where folders cannot be opened (Windows). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Not supported on this platform or file system; the data itself is already synced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
