// Node file helpers for safetensors (the codec in safetensors.ts stays browser-safe).
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsContents, type SafetensorsTensor } from './safetensors.js';

/** Writes a safetensors file atomically (temp file, fsync, rename): a crash never leaves a torn file. */
export async function writeSafetensorsFile(path: string, tensors: Record<string, SafetensorsTensor>, metadata?: Record<string, string>): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata, path));
}

/** Reads and validates a safetensors file; errors name the path. Arrays view the file's buffer. */
export async function readSafetensorsFile(path: string): Promise<SafetensorsContents> {
  const buf = await readFile(path);
  return decodeSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}
