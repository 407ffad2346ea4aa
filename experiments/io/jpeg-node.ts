// The JPEG decoder in Node: the WebAssembly binary is read from the installed @jsquash/jpeg package
// (no fetch, works offline), compiled once per process.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createJpegDecoder, JPEG_WASM_FILE, type JpegDecoder } from './jpeg.js';

/** Path of the decoder's .wasm inside the installed package. */
export function jpegWasmPath(): string {
  return createRequire(import.meta.url).resolve(`@jsquash/jpeg/codec/dec/${JPEG_WASM_FILE}`);
}

let decoder: Promise<JpegDecoder> | null = null;

export function nodeJpegDecoder(): Promise<JpegDecoder> {
  if (!decoder) {
    decoder = readFile(jpegWasmPath()).then((bytes) => createJpegDecoder(bytes));
    decoder.catch(() => (decoder = null));
  }
  return decoder;
}
