// The published frost photographs as the corruption wants them, in Node or in a page:
// frost1.png … frost3.png and frost4.jpg … frost6.jpg decoded to f32 [h, w, 3] tensors in [0, 1].
// PNGs go through ./png.ts (alpha dropped) and JPEGs through libjpeg-turbo (../io/jpeg.ts), so the
// pixels are the ones cv2.imread gives the published generator. Reading the files is the caller's.
import { tensor, type Tensor } from '../../engine/tensor.js';
import type { JpegDecoder } from '../io/jpeg.js';
import { decodePngAsync, isPng, type DecodedImage } from './png.js';

/** The published file names, in the order the corruption indexes them. */
export const FROST_FILES = ['frost1.png', 'frost2.png', 'frost3.png', 'frost4.jpg', 'frost5.jpg', 'frost6.jpg'] as const;

export interface ImageDecoders {
  jpeg: JpegDecoder;
  /** zlib inflate (node:zlib's, or a page's DecompressionStream). */
  inflate: (data: Uint8Array) => Promise<Uint8Array>;
}

export async function decodeImageBytes(bytes: Uint8Array, name: string, decoders: ImageDecoders): Promise<DecodedImage> {
  if (isPng(bytes)) return decodePngAsync(bytes, decoders.inflate, name);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return decoders.jpeg.decode(bytes, name);
  throw new Error(`${name}: neither PNG nor JPEG`);
}

/** RGB bytes → f32 [h, w, 3] in [0, 1]. */
export function imageTensor(img: DecodedImage, name = ''): Tensor {
  const inv = Math.fround(1 / 255);
  const t = tensor(Float32Array.from(img.rgb, (b) => Math.fround(b * inv)), [img.height, img.width, 3]);
  t.name = name;
  return t;
}

/** Decodes texture files (in the corruption's order) to tensors named after them. */
export async function frostTexturesFrom(files: readonly { name: string; bytes: Uint8Array }[], decoders: ImageDecoders): Promise<Tensor[]> {
  const images = await Promise.all(files.map((f) => decodeImageBytes(f.bytes, f.name, decoders)));
  return images.map((img, k) => imageTensor(img, files[k].name.replace(/^.*[\\/]/, '')));
}
