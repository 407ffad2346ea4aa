// Where archive members land: every member name is checked before anything is written, so no name
// ('../evil', '/etc/passwd', 'a/../../b', 'C:\x') can place a file outside the extraction folder.
// Links and device files are refused outright, so nothing extracted can point outside it either.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import type { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

/**
 * The path inside `root` for member `name`, or an ArchiveError when the name would leave `root`.
 * Returns null for names that are the root itself ('./').
 */
export function memberPath(root: string, name: string, archive: string): string | null {
  const refuse = (why: string): never => {
    throw new ArchiveError(`${archive}: member '${name}' ${why}; refusing to extract the archive`);
  };
  if (name.includes('\0')) refuse('contains a NUL byte');
  if (name.includes('\\')) refuse('contains a backslash (not a portable path)');
  if (name.startsWith('/') || isAbsolute(name) || /^[A-Za-z]:/.test(name)) refuse('is an absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) refuse("would be written outside the target folder ('..')");
  if (parts.length === 0) return null;
  const path = join(root, ...parts);
  if (!resolve(path).startsWith(resolve(root) + sep)) refuse('would be written outside the target folder');
  return path;
}

/** Creates folders once each (archives list many files per folder). */
export class FolderMaker {
  private made = new Set<string>();

  async ensure(dir: string): Promise<void> {
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.made.add(dir);
  }
}

/** Writes a member's bytes, from chunks passed through `stages` (decompression, checks), to `path`. */
export async function writeMember(path: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, ...stages: Transform[]): Promise<void> {
  await (pipeline as (...streams: unknown[]) => Promise<void>)(chunks, ...stages, createWriteStream(path));
}
