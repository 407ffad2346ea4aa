// Image batches travel to the GPU as raw uint8 (a quarter of the f32 bytes) and are converted there,
// optionally with per-sample random crop and horizontal flip (shaders/augment.ts). A packed batch is
// a u32 tensor of ceil(bytes/4) words; the image shape travels alongside it.
import { augmentPrograms, augmentWorkgroups } from '../../shaders/augment.js';
import { runtime } from '../runtime.js';
import { empty, numel, type Shape, type Tensor } from '../tensor.js';
import { randomBits, type Generator } from './random.js';
import { run } from './run.js';

/** Uploads uint8 pixels (any layout; NHWC for augmentImages) as a packed u32 tensor. */
export function uploadImagesU8(bytes: Uint8Array, shape: Shape): Tensor {
  if (bytes.length !== numel(shape)) throw new Error(`uploadImagesU8: ${bytes.length} bytes do not fill shape [${shape}] (${numel(shape)} bytes)`);
  const packed = empty([Math.ceil(bytes.length / 4)], 'u32');
  if (bytes.length > 0) runtime().upload(packed.range, bytes);
  return packed;
}

function checkPacked(op: string, packed: Tensor, shape: Shape): number {
  const bytes = numel(shape);
  if (packed.dtype !== 'u32') throw new Error(`${op}: expected packed bytes in a u32 tensor, got ${packed.describe()}`);
  if (packed.size !== Math.ceil(bytes / 4)) throw new Error(`${op}: ${packed.describe()} holds ${packed.size * 4} bytes, but shape [${shape}] needs ${bytes} (${Math.ceil(bytes / 4)} words)`);
  return bytes;
}

/** x/255 as f32 (computed as x·fl(1/255): relative error < 2^-23, 255 → 1), in the given shape. */
export function imagesToFloat(packed: Tensor, shape: Shape): Tensor {
  const count = checkPacked('imagesToFloat', packed, shape);
  const out = empty(shape);
  if (count > 0) run(augmentPrograms.plain, { pixels: packed, out }, { count }, augmentWorkgroups(count), `imagesToFloat [${shape}]`);
  return out;
}

export interface AugmentOptions {
  /** Zero padding on each side before the crop (default 0). */
  padding?: number;
  /** Horizontal flip with probability 1/2 (default false). */
  flip?: boolean;
  /** Random H×W crop of the padded image, offsets uniform in [0, 2·padding] (default true). */
  crop?: boolean;
  generator?: Generator;
}

/**
 * Per sample: a random H×W crop of the image zero-padded by `padding`, then a horizontal flip with
 * probability 1/2; output f32 [N, H, W, C] in [0, 1]. Sample n uses the n-th of N Philox blocks
 * reserved from the generator, drawn on the GPU. Without any randomness (no flip, no crop or
 * padding 0) this is imagesToFloat and consumes nothing from the generator.
 */
export function augmentImages(packed: Tensor, shape: Shape, options: AugmentOptions = {}): Tensor {
  const { padding = 0, flip = false, crop = true, generator } = options;
  if (shape.length !== 4) throw new Error(`augmentImages: shape must be [N, H, W, C], got [${shape}]`);
  if (!Number.isInteger(padding) || padding < 0 || padding > 0x7fffffff) throw new Error(`augmentImages: padding must be a non-negative integer, got ${padding}`);
  const count = checkPacked('augmentImages', packed, shape);
  const cropping = crop && padding > 0;
  if (!cropping && !flip) return imagesToFloat(packed, shape);
  const [N, H, W, C] = shape;
  const out = empty(shape);
  if (count === 0) return out;
  const draws = randomBits([N, 4], { generator });
  const uniforms = { count, H, W, C, pad: padding, base: cropping ? 0 : padding, span: cropping ? 2 * padding + 1 : 1, flip: flip ? 1 : 0 };
  run(augmentPrograms.random, { pixels: packed, draws, out }, uniforms, augmentWorkgroups(count), `augmentImages [${shape}] pad ${padding}${flip ? ' flip' : ''}`);
  draws.dispose();
  return out;
}
