// The shared last step of every corruption: the published datasets store uint8 made by truncation
// (np.uint8(x·255)), so evaluation should see ⌊clamp(x, 0, 1)·255⌋/255, not the f32 result.
import { imagesToFloat, uploadImagesU8 } from '../../engine/ops/augment.js';
import { mapRaw } from '../../engine/ops/elementwise.js';
import { run } from '../../engine/ops/run.js';
import { empty, type Shape, type Tensor } from '../../engine/tensor.js';
import { INV_255, workgroups } from '../../shaders/corrupt/common.js';
import { packBytesProgram } from '../../shaders/corrupt/quantize.js';

// ·fl(1/255) (one correctly rounded multiply, as imagesToFloat) so k/255 round-trips exactly.
const QUANTIZE = { name: 'quantize_u8', arity: 1 as const, expr: `floor(clamp(a, T(0.0), T(1.0)) * T(255.0)) * T(${INV_255})` };

/** f32 → ⌊clamp(x, 0, 1)·255⌋/255 on the GPU, same shape. Idempotent; exact on values k/255. */
export function quantize(images: Tensor): Tensor {
  if (images.dtype !== 'f32') throw new Error(`quantize: expected an f32 tensor, got ${images.describe()}`);
  return mapRaw(QUANTIZE, [images]);
}

/** The truncated bytes packed four per u32 word on the GPU (the layout uploadImagesU8 makes). */
export function packUint8(images: Tensor): Tensor {
  if (images.dtype !== 'f32') throw new Error(`packUint8: expected an f32 tensor, got ${images.describe()}`);
  const words = Math.ceil(images.size / 4);
  const out = empty([Math.max(words, 1)], 'u32');
  if (words > 0) run(packBytesProgram, { src: images, out }, { count: images.size, words }, workgroups(words), `corrupt pack bytes [${images.shape}]`);
  return out;
}

/** The truncated bytes on the host, in the tensor's (NHWC) order. */
export async function toUint8(images: Tensor): Promise<Uint8Array> {
  const packed = packUint8(images);
  try {
    const words = await packed.toArray();
    return new Uint8Array(words.buffer, 0, images.size);
  } finally {
    packed.dispose();
  }
}

/** uint8 bytes → f32 x/255 on the GPU (the inverse of toUint8 for bytes). */
export function fromUint8(bytes: Uint8Array, shape: Shape): Tensor {
  const packed = uploadImagesU8(bytes, shape);
  const out = imagesToFloat(packed, shape);
  packed.dispose();
  return out;
}
