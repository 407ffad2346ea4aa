// The Node side of ByteSource: a path on disk (tests and scripts decode the page's files with the
// same functions the page uses).
import { readFile } from 'node:fs/promises';
import type { ByteSource } from './files.js';

export function pathSource(path: string): ByteSource {
  return { name: path, bytes: async () => new Uint8Array(await readFile(path)) };
}
