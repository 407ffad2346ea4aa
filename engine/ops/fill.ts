import { fillProgram, fillWorkgroups } from '../../shaders/fill.js';
import { empty, type DType, type Shape, type Tensor } from '../tensor.js';
import { run } from './run.js';

const bitsView = new DataView(new ArrayBuffer(4));

function bitsOf(value: number, dtype: DType): number {
  if (dtype === 'f32') bitsView.setFloat32(0, value, true);
  else if (dtype === 'i32') bitsView.setInt32(0, value, true);
  else bitsView.setUint32(0, value, true);
  return bitsView.getUint32(0, true);
}

export function full(shape: Shape, value: number, dtype: DType = 'f32'): Tensor {
  const out = empty(shape, dtype);
  if (out.size > 0) run(fillProgram, { out }, { count: out.size, bits: bitsOf(value, dtype) }, fillWorkgroups(out.size), `full [${shape}]`);
  return out;
}

export const zeros = (shape: Shape, dtype: DType = 'f32') => full(shape, 0, dtype);
export const ones = (shape: Shape, dtype: DType = 'f32') => full(shape, 1, dtype);
export const zerosLike = (t: Tensor) => full(t.shape, 0, t.dtype);
export const onesLike = (t: Tensor) => full(t.shape, 1, t.dtype);
