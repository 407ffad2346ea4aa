// JPEG decoding with libjpeg-turbo's decoder (the MozJPEG build of @jsquash/jpeg, compiled to
// WebAssembly), so Node and the page decode exactly as PIL and OpenCV do: the accurate integer
// inverse DCT (ISLOW) and fancy chroma upsampling, libjpeg's defaults. test/jpeg.test.ts checks the
// output byte for byte against PIL's on JPEGs that PIL wrote. Browser-safe: the caller supplies the
// WebAssembly binary (jpeg-node.ts reads it from the package; the page fetches the copy the build
// puts beside its bundle).
import createModule from '@jsquash/jpeg/codec/dec/mozjpeg_dec.js';
import type { DecodedImage } from '../corruptions/png.js';

export interface JpegDecoder {
  /** RGB bytes of a baseline or progressive JPEG (greyscale is replicated to RGB). Throws one line naming `name`: "cannot decode NAME: …". */
  decode(bytes: Uint8Array, name: string): DecodedImage;
}

/** The part of the Emscripten module this file uses. */
interface DecoderModule {
  decode(data: Uint8Array, preserveOrientation: boolean): { width: number; height: number; data: Uint8ClampedArray } | null;
}

/** The decoder's file name in @jsquash/jpeg (and beside the page's bundle). */
export const JPEG_WASM_FILE = 'mozjpeg_dec.wasm';

/** libjpeg's warning for a file that ends before its image data does (PIL: "image file is truncated"). */
const TRUNCATED = 'Premature end of JPEG file';

export async function createJpegDecoder(wasm: BufferSource | WebAssembly.Module): Promise<JpegDecoder> {
  const compiled = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm);
  // libjpeg reports through stderr: errors before exit(), warnings (like truncation) while decoding.
  let messages: string[] = [];
  const options = {
    noInitialRun: true,
    printErr: (line: string) => messages.push(line),
    print: (line: string) => messages.push(line),
    instantiateWasm: (imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) => {
      const instance = new WebAssembly.Instance(compiled, imports);
      done(instance);
      return instance.exports;
    },
  };
  const module = (await (createModule as unknown as (o: typeof options) => Promise<DecoderModule>)(options));
  return {
    decode(bytes, name) {
      messages = [];
      let out: ReturnType<DecoderModule['decode']>;
      try {
        out = module.decode(bytes, false);
      } catch {
        // libjpeg's error_exit ends in exit(), which the module throws; its message went to stderr.
        out = null;
      }
      if (!out) throw new Error(`cannot decode ${name}: not a decodable JPEG (${messages.join('; ') || 'the decoder gave no reason'})`);
      if (messages.includes(TRUNCATED)) throw new Error(`cannot decode ${name}: truncated JPEG (${TRUNCATED})`);
      const { width, height, data } = out;
      const rgb = new Uint8Array(width * height * 3);
      for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
        rgb[i] = data[j];
        rgb[i + 1] = data[j + 1];
        rgb[i + 2] = data[j + 2];
      }
      return { width, height, rgb };
    },
  };
}

/** Decodes a JPEG that must be width × height; errors name the file. */
export function decodeJpegOfSize(decoder: JpegDecoder, bytes: Uint8Array, name: string, width: number, height: number): Uint8Array {
  const img = decoder.decode(bytes, name);
  if (img.width !== width || img.height !== height) throw new Error(`${name} is ${img.width}×${img.height}, expected ${width}×${height}`);
  return img.rgb;
}
