// dtype conversion between f32 and f16 storage (f16 → f32 is exact; f32 → f16 rounds to a nearest
// half, and values beyond ±65504 saturate).
import { castWorkgroups, fromHalfProgram, toHalfProgram } from '../../shaders/cast.js';
import { empty, type Tensor } from '../tensor.js';
import { run } from './run.js';

/**
 * The same values in another float storage type. Not differentiable: f16 tensors are for storage
 * (weights and activations of inference), and autograd runs in f32.
 */
export function cast(x: Tensor, dtype: 'f32' | 'f16'): Tensor {
  if (x.dtype !== 'f32' && x.dtype !== 'f16') throw new Error(`cast: expected an f32 or f16 tensor, got ${x.describe()}`);
  if (x.requiresGrad && dtype === 'f16') throw new Error(`cast: ${x.describe()} requires grad; f16 tensors are storage only (cast a detached copy)`);
  if (x.dtype === dtype) return x.view(x.shape);
  const out = empty(x.shape, dtype);
  if (x.size > 0) run(dtype === 'f16' ? toHalfProgram : fromHalfProgram, { x, out }, { count: x.size }, castWorkgroups(x.size), `cast ${x.describe()} to ${dtype}`);
  return out;
}
