// Where decoded-dataset caches go. A dataset is often mounted read-only (or shared by many users),
// so the default is the dataset's own `.cache` folder only when one is already there or the folder
// can be written; otherwise a per-dataset folder under the user's cache directory.
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';

/** $XDG_CACHE_HOME/selectivity-webgpu, or ~/.cache/selectivity-webgpu. */
export function userCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'selectivity-webgpu');
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** What --cache-dir says when it is not given (the text of its --help line). */
export const CACHE_DIR_HELP = 'where decoded JPEG caches go (Tiny ImageNet, Tiny-ImageNet-C); default <data-dir>/.cache when it exists or the data directory is writable, else ~/.cache/selectivity-webgpu/<name>-<hash> ($XDG_CACHE_HOME respected)';

/**
 * The cache folder of a dataset at `dataDir`: `given` when set; else `<dataDir>/.cache` when it
 * exists or `dataDir` is writable; else `userCacheDir()/<name>-<hash of the absolute path>`.
 */
export function cacheDirFor(dataDir: string, given?: string): string {
  if (given) return resolve(given);
  const inside = join(dataDir, '.cache');
  if (existsSync(inside) || writable(dataDir)) return inside;
  const absolute = resolve(dataDir);
  const id = createHash('sha256').update(absolute).digest('hex').slice(0, 12);
  return join(userCacheDir(), `${basename(absolute) || 'data'}-${id}`);
}
