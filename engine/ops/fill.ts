import { fillHalfProgram, fillProgram, fillWorkgroups } from '../../shaders/fill.js';
import { toHalfBits } from '../half.js';
import { empty, storageWords, type DType, type Shape, type Tensor } from '../tensor.js';
import { run } from './run.js';

const bitsView = new DataView(new ArrayBuffer(4));

function bitsOf(value: number, dtype: DType): number {
  if (dtype === 'f16') return toHalfBits(value) * 0x10001; // the half in both halves of the word
  if (dtype === 'f32') bitsView.setFloat32(0, value, true);
  else if (dtype === 'i32') bitsView.setInt32(0, value, true);
  else bitsView.setUint32(0, value, true);
  return bitsView.getUint32(0, true);
}

export function full(shape: Shape, value: number, dtype: DType = 'f32'): Tensor {
  const out = empty(shape, dtype);
  const words = storageWords(out.size, dtype);
  if (out.size > 0) run(dtype === 'f16' ? fillHalfProgram : fillProgram, { out }, { count: words, bits: bitsOf(value, dtype) }, fillWorkgroups(words), `full [${shape}]`);
  return out;
}

export const zeros = (shape: Shape, dtype: DType = 'f32') => full(shape, 0, dtype);
export const ones = (shape: Shape, dtype: DType = 'f32') => full(shape, 1, dtype);
export const zerosLike = (t: Tensor) => full(t.shape, 0, t.dtype);
export const onesLike = (t: Tensor) => full(t.shape, 1, t.dtype);
