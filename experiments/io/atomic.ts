// Crash-safe file writing: readers see either the old file or the complete new one, never a partial
// write. Recipe: write `path.tmp-<host>-<pid>`, fsync it, rename it over `path`, fsync the folder
// (so the rename itself survives a power cut; skipped where the platform cannot open folders).
//
// Temporary names carry the writer's host (io/host.ts) as well as its PID, because the folders are
// often shared between machines: a temp file is removed as stale only when its writer ran on this
// host and is no longer alive; another host's temp file is never touched.
//
// A set of files (a command's CSV, SVG and JSON) is written as a set: every temp file first, then
// the renames in the order given, so the file a reader looks for (the JSON, listed last) appears
// only after the others are complete.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { hostId, provablyGone } from './host.js';

/** Writes of one path within this process run one after another (they share the temp name). */
const pending = new Map<string, Promise<void>>();

export interface PendingFile {
  path: string;
  data: string | Uint8Array;
}

/** The temporary name this process writes `path` under. */
export function tempPathFor(path: string): string {
  return `${path}.tmp-${hostId()}-${process.pid}`;
}

/** Parses `<base>.tmp-<host>-<pid>`; null for other names (including older `.tmp-<pid>` ones). */
export function parseTempName(name: string): { base: string; host: string; pid: number } | null {
  const m = /^(.+)\.tmp-(.+)-(\d+)$/.exec(name);
  return m ? { base: m[1], host: m[2], pid: Number(m[3]) } : null;
}

/**
 * Removes the temp files in `dir` (of `base` only, when given) whose writer ran on this host and
 * has exited; returns their names. Temp files of other hosts, or of live processes, are left alone.
 */
export async function removeStaleTemps(dir: string, base?: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const temp = parseTempName(name);
    if (!temp || (base !== undefined && temp.base !== base) || !provablyGone(temp.host, temp.pid)) continue;
    await fsp.rm(join(dir, name), { force: true }).then(() => removed.push(name), () => undefined);
  }
  return removed;
}

/** removeStaleTemps for the temp files of one target path. */
export function removeStaleTempsOf(path: string): Promise<string[]> {
  return removeStaleTemps(dirname(path), basename(path));
}

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
  return queued([path], () => writeSetNow([{ path, fill }]));
}

/**
 * Writes several files as a set: all temp files are written and synced first (a failure removes
 * them all and leaves every previous file untouched), then renamed in the order given. Put the file
 * that marks the set complete (the JSON a report reads) last.
 */
export function writeFilesAtomic(files: readonly PendingFile[]): Promise<void> {
  const paths = files.map((f) => f.path);
  if (new Set(paths.map((p) => resolve(p))).size !== paths.length) throw new Error(`writeFilesAtomic: a path is listed twice in ${paths.join(', ')}`);
  return queued(paths, () => writeSetNow(files.map((f) => ({ path: f.path, fill: (handle: FileHandle) => handle.writeFile(f.data) }))));
}

function queued(paths: readonly string[], write: () => Promise<void>): Promise<void> {
  const keys = paths.map((p) => resolve(p));
  const previous = Promise.all(keys.map((k) => (pending.get(k) ?? Promise.resolve()).catch(() => undefined)));
  const current = previous.then(write);
  for (const key of keys) pending.set(key, current);
  const cleanup = () => {
    for (const key of keys) if (pending.get(key) === current) pending.delete(key);
  };
  current.then(cleanup, cleanup);
  return current;
}

async function writeSetNow(files: readonly { path: string; fill: (handle: FileHandle) => Promise<void> }[]): Promise<void> {
  const written: string[] = [];
  let failedPath = files[0]?.path ?? '';
  try {
    for (const { path, fill } of files) {
      failedPath = path;
      await fsp.mkdir(dirname(path), { recursive: true });
      const tmp = tempPathFor(path);
      written.push(tmp);
      const handle = await fsp.open(tmp, 'w');
      try {
        await fill(handle);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const { path } of files) {
      failedPath = path;
      await fsp.rename(tempPathFor(path), path);
      written.shift();
    }
  } catch (err) {
    await Promise.all(written.map((tmp) => fsp.rm(tmp, { force: true }).catch(() => undefined)));
    throw new Error(`${failedPath}: atomic write failed: ${(err as Error).message}`, { cause: err });
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) await syncDirectory(dir);
}

/**
 * Creates `path` holding `data` only if nothing exists there yet; returns whether it did. The
 * content is complete the moment the name appears (a synced temp file hard-linked into place; the
 * link fails if the name exists, atomically, on local and network file systems). Where hard links
 * are not supported it falls back to an exclusive create (O_EXCL) written in place.
 */
export function createFileExclusive(path: string, data: string | Uint8Array): Promise<boolean> {
  let created = false;
  return queued([path], async () => {
    created = await createNow(path, data);
  }).then(() => created);
}

async function createNow(path: string, data: string | Uint8Array): Promise<boolean> {
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const handle = await fsp.open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fsp.link(tmp, path);
      await syncDirectory(dirname(path));
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    }
    let exclusive: FileHandle;
    try {
      exclusive = await fsp.open(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    try {
      await exclusive.writeFile(data);
      await exclusive.sync();
    } finally {
      await exclusive.close();
    }
    return true;
  } finally {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** fsyncs a folder so a rename inside it is durable; a no-op where folders cannot be opened (Windows). */
export async function syncDirectory(dir: string): Promise<void> {
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
