// Node PNG helpers: the encoder of png.ts with real (zlib) compression, and an atomic file write.
import { deflateSync } from 'node:zlib';
import { writeFileAtomic } from './atomic.js';
import { encodePng } from './png.js';

const deflate = (data: Uint8Array) => {
  const out = deflateSync(data, { level: 9 });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};

/** encodePng with zlib compression (level 9). */
export function encodePngCompressed(rgb: Uint8Array, width: number, height: number): Uint8Array {
  return encodePng(rgb, width, height, { deflate });
}

/** Writes an RGB image as a compressed PNG, atomically. */
export async function writePngFile(path: string, rgb: Uint8Array, width: number, height: number): Promise<void> {
  await writeFileAtomic(path, encodePngCompressed(rgb, width, height));
}
