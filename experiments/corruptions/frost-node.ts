// Loading the published frost photographs (Node): frost1.png … frost6.jpg from a directory, decoded
// to f32 [h, w, 3] tensors in [0, 1] (PNG by ./png.ts with node:zlib, JPEG by jpeg-js; alpha dropped).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import * as jpeg from 'jpeg-js';
import { tensor, type Tensor } from '../../engine/tensor.js';
import { decodePng, isPng, type DecodedImage } from './png.js';

/** The published file names, in the order the corruption indexes them. */
export const FROST_FILES = ['frost1.png', 'frost2.png', 'frost3.png', 'frost4.jpg', 'frost5.jpg', 'frost6.jpg'] as const;

export function decodeImageBytes(bytes: Uint8Array, name: string): DecodedImage {
  if (isPng(bytes)) return decodePng(bytes, (d) => new Uint8Array(inflateSync(d)), name);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
    return { width: img.width, height: img.height, rgb: new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength) };
  }
  throw new Error(`${name}: neither PNG nor JPEG`);
}

/** RGB bytes → f32 [h, w, 3] in [0, 1]. */
export function imageTensor(img: DecodedImage, name = ''): Tensor {
  const inv = Math.fround(1 / 255);
  const t = tensor(Float32Array.from(img.rgb, (b) => Math.fround(b * inv)), [img.height, img.width, 3]);
  t.name = name;
  return t;
}

/**
 * The frost textures in `dir`: the published frost1.png … frost6.jpg in that order (the corruption
 * uses the first five), or, if none of those names exist, every .png/.jpg/.jpeg there sorted by name.
 */
export function loadFrostTextures(dir: string): Tensor[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new Error(`loadFrostTextures: cannot read directory ${dir}: ${(error as Error).message}`);
  }
  // A JPEG's lossless PNG twin (frostN.png beside frostN.jpg) is the libjpeg decoding the published
  // code sees; jpeg-js decodes a few levels apart, so the twin is preferred when present.
  const published = FROST_FILES.map((f) => (f.endsWith('.jpg') && names.includes(f.replace(/\.jpg$/, '.png')) ? f.replace(/\.jpg$/, '.png') : f)).filter((f) => names.includes(f));
  const files = published.length > 0 ? published : names.filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  if (files.length === 0) throw new Error(`loadFrostTextures: no frost textures (${FROST_FILES.join(', ')}) in ${dir}`);
  return files.map((f) => imageTensor(decodeImageBytes(new Uint8Array(readFileSync(join(dir, f))), join(dir, f)), f));
}
