// Matrix products on the GEMM core. Transposes are read in place by choosing which dimension the
// reader treats as contiguous, so backward never materialises a transpose.
import { matrixReader } from '../../shaders/gemm.js';
import { record } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { gemm } from './gemm.js';
import { sumTo } from './reduce.js';
import { shapes } from './run.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** Storage type of the product (default f32). Operands may be f32 or f16; sums are f32. */
  dtype?: 'f32' | 'f16';
}

function assertFloat(op: string, t: Tensor): void {
  if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new Error(`${op}: expected an f32 or f16 tensor, got ${t.describe()}`);
}

interface MatDims {
  batch: number;
  rows: number;
  cols: number;
}

function dims(op: string, t: Tensor, what: string): MatDims {
  if (t.rank !== 2 && t.rank !== 3) throw new Error(`${op}: ${what} must be 2-D or 3-D (batched), got ${t.describe()}`);
  return t.rank === 2 ? { batch: 1, rows: t.shape[0], cols: t.shape[1] } : { batch: t.shape[0], rows: t.shape[1], cols: t.shape[2] };
}

/** C = op(A)·op(B), where op transposes the last two axes when asked. A batch of 1 broadcasts. */
export function matmulRaw(a: Tensor, b: Tensor, options: MatmulOptions = {}, bias?: Tensor): Tensor {
  const op = 'matmul';
  assertFloat(op, a);
  assertFloat(op, b);
  const { transA = false, transB = false } = options;
  const da = dims(op, a, 'A');
  const db = dims(op, b, 'B');
  const [M, Ka] = transA ? [da.cols, da.rows] : [da.rows, da.cols];
  const [Kb, N] = transB ? [db.cols, db.rows] : [db.rows, db.cols];
  if (Ka !== Kb) throw new Error(`${op}: inner dimensions differ: ${a.describe()}${transA ? 'ᵀ' : ''} · ${b.describe()}${transB ? 'ᵀ' : ''} (${Ka} vs ${Kb})`);
  if (da.batch !== db.batch && da.batch !== 1 && db.batch !== 1) throw new Error(`${op}: batch sizes ${da.batch} and ${db.batch} do not broadcast: ${shapes(a, b)}`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== N)) throw new Error(`${op}: bias must have shape [${N}], got ${bias.describe()}`);
  const batches = Math.max(da.batch, db.batch);
  const K = Ka;
  // A is read along K when stored [M, K]; along M when stored [K, M] (transA).
  const aKContiguous = !transA;
  const bKContiguous = transB;
  const aVec = da.cols % 4 === 0;
  const bVec = db.cols % 4 === 0;
  const c = gemm({
    M, N, K, batches,
    a: matrixReader('A', aKContiguous, aVec, a.dtype === 'f16'),
    b: matrixReader('B', bKContiguous, bVec, b.dtype === 'f16'),
    inputs: { Abuf: a, Bbuf: b },
    uniforms: { Ald: da.cols, Abs: da.batch === 1 ? 0 : da.rows * da.cols, Bld: db.cols, Bbs: db.batch === 1 ? 0 : db.rows * db.cols },
    bias,
    outDtype: options.dtype,
    label: `matmul ${shapes(a, b)}${transA ? ' transA' : ''}${transB ? ' transB' : ''}`,
  });
  const shape = a.rank === 3 || b.rank === 3 ? [batches, M, N] : [M, N];
  const out = c.view(shape);
  c.dispose();
  return out;
}

/** Matrix product with autograd. */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const { transA = false, transB = false } = options;
  for (const t of [a, b]) if (t.requiresGrad && t.dtype !== 'f32') throw new Error(`matmul: ${t.describe()} requires grad, but gradients flow through f32 tensors only`);
  const y = matmulRaw(a, b, options);
  return record('matmul', [a, b], y, [a, b], (g, [sa, sb]) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (a.requiresGrad) {
      const full = transA ? matmulRaw(sb, g, { transA: transB, transB: true }) : matmulRaw(g, sb, { transB: !transB });
      ga = sumTo(full, a.shape);
      full.dispose();
    }
    if (b.requiresGrad) {
      const full = transB ? matmulRaw(g, sa, { transA: true, transB: transA }) : matmulRaw(sa, g, { transA: !transA });
      gb = sumTo(full, b.shape);
      full.dispose();
    }
    return [ga, gb];
  });
}

/** y = x·Wᵀ + b with PyTorch's Linear layout: x [N, in], W [out, in], b [out]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (x.rank !== 2) throw new Error(`linear: input must be [batch, features], got ${x.describe()}`);
  if (weight.rank !== 2 || weight.shape[1] !== x.shape[1]) throw new Error(`linear: weight ${weight.describe()} does not match input ${x.describe()} (expected [out, ${x.shape[1]}])`);
  const y = matmulRaw(x, weight, { transB: true }, bias ?? undefined);
  return record('linear', [x, weight, bias], y, [x, weight], (g, [sx, sw]) => [
    x.requiresGrad ? matmulRaw(g, sw) : null,
    weight.requiresGrad ? matmulRaw(g, sx, { transA: true }) : null,
    bias?.requiresGrad ? sumTo(g, bias.shape) : null,
  ]);
}
