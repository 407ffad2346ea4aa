// Pooling over NHWC images: windowed average and max pooling, and global average pooling.
import { poolBackward, poolForward, poolWorkgroups } from '../../shaders/pool.js';
import { record } from '../autograd.js';
import { assertDType, empty, type Tensor } from '../tensor.js';
import { mean } from './reduce.js';
import { run, shapes } from './run.js';

export interface Pool2dOptions {
  stride?: number;
  padding?: number;
}

function poolGeometry(op: string, x: Tensor, kernel: number, options: Pool2dOptions) {
  assertDType(op, x, 'f32');
  if (x.rank !== 4) throw new Error(`${op}: input must be NHWC [N, H, W, C], got ${x.describe()}`);
  const { stride = kernel, padding = 0 } = options;
  if (!Number.isInteger(kernel) || kernel < 1) throw new Error(`${op}: kernel size must be an integer ≥ 1, got ${kernel}`);
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`${op}: stride must be an integer ≥ 1, got ${stride}`);
  if (!Number.isInteger(padding) || padding < 0 || padding > kernel / 2) throw new Error(`${op}: padding must be an integer in [0, kernel/2], got ${padding} for kernel ${kernel}`);
  const [N, H, W, C] = x.shape;
  const Ho = Math.floor((H + 2 * padding - kernel) / stride) + 1;
  const Wo = Math.floor((W + 2 * padding - kernel) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new Error(`${op}: a ${kernel}x${kernel} window does not fit input ${x.describe()} with padding ${padding}`);
  return { N, H, W, C, Ho, Wo, KH: kernel, KW: kernel, sh: stride, sw: stride, ph: padding, pw: padding };
}

function pool(kind: 'avg' | 'max', x: Tensor, kernel: number, options: Pool2dOptions): Tensor {
  const op = `${kind}_pool2d`;
  const g = poolGeometry(op, x, kernel, options);
  const label = `${op} ${shapes(x)} k${kernel} s${g.sh} p${g.ph}`;
  const y = empty([g.N, g.Ho, g.Wo, g.C]);
  const argmax = kind === 'max' ? empty(y.shape) : null;
  run(poolForward(kind), argmax ? { x, y, argmax } : { x, y }, g, poolWorkgroups(y.size), label);
  const result = record(op, [x], y, argmax ? [argmax] : [], (dy, saved) => {
    const dx = empty(x.shape);
    run(poolBackward(kind), kind === 'max' ? { dy, argmax: saved[0], dx } : { dy, dx }, g, poolWorkgroups(dx.size), `${label} backward`);
    return [dx];
  });
  argmax?.dispose();
  return result;
}

/** Average pooling; padded positions count in the divisor (PyTorch's count_include_pad=True). */
export const avgPool2d = (x: Tensor, kernel: number, options: Pool2dOptions = {}) => pool('avg', x, kernel, options);
/** Max pooling; the gradient goes to the first maximal element of each window. */
export const maxPool2d = (x: Tensor, kernel: number, options: Pool2dOptions = {}) => pool('max', x, kernel, options);

/** [N, H, W, C] → [N, C], the mean over spatial positions. */
export function globalAvgPool(x: Tensor): Tensor {
  if (x.rank !== 4) throw new Error(`global_avg_pool: input must be NHWC [N, H, W, C], got ${x.describe()}`);
  return mean(x, [1, 2]);
}
