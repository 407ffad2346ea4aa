// f16 storage against float64 references computed on the values the f16 tensors hold: casts,
// matmul and conv forward reading and writing packed halves while summing in f32.
import { cast } from '../../engine/ops/cast.js';
import { conv2d } from '../../engine/ops/conv.js';
import { chooseTiling } from '../../engine/ops/gemm.js';
import { matmulRaw } from '../../engine/ops/matmul.js';
import { decodeHalves, encodeHalves, roundToHalf } from '../../engine/half.js';
import { tensor } from '../../engine/tensor.js';
import { conv2dRef, outSize, type ConvShape } from '../reference/conv.js';
import { matmulRef } from '../reference/matmul.js';
import type { KernelCase } from './check.js';
import { dotBound, randn } from './util.js';

/** Spacing of halves at |v|: storing v as f16 moves it by at most this much (half of it when rounding to nearest). */
export const halfSpacing = (v: number) => 2 ** Math.max(Math.floor(Math.log2(Math.max(Math.abs(v), 2 ** -14))) - 10, -24);
/** The values an f16 tensor made from `values` holds. */
export const halved = (values: Float32Array) => decodeHalves(encodeHalves(values));

const castCase: KernelCase = {
  suite: 'f16',
  name: 'cast f32 → f16 → f32 rounds to a neighbouring half and saturates; widening is exact',
  async run(check) {
    for (const n of [1, 5, 64, 999]) {
      const x = randn(n, 7 * n, 10);
      x[0] = 1e6;
      if (n > 1) x[1] = -7e4;
      const back = await cast(cast(tensor(x), 'f16'), 'f32').toArray();
      // WGSL lets the conversion pick either neighbouring half: within one spacing of the value.
      const saturated = x.map((v) => Math.max(-65504, Math.min(65504, v)));
      check.close(back, saturated, (i) => halfSpacing(saturated[i]), `cast ${n}`);
      check.ok(Array.from(back).every((v) => roundToHalf(v) === v), `cast ${n}: every value is a half`);
      check.equal(await cast(tensor(halved(saturated), [n], 'f16'), 'f32').toArray(), halved(saturated), `widening ${n}`);
    }
  },
};

const matmulShapes: [number, number, number][] = [[5, 7, 3], [64, 48, 36], [130, 100, 33]];

const matmulCases = matmulShapes.flatMap(([M, K, N]) =>
  ([[false, false], [true, false], [false, true]] as const).map(([transA, transB]): KernelCase => ({
    suite: 'f16',
    name: `matmul ${M}x${K}·${K}x${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''} with f16 operands (any mix) and f16 output`,
    async run(check) {
      const a = halved(randn(M * K, M + K));
      const b = halved(randn(K * N, N + 3 * K));
      const ref = matmulRef(a, [1, transA ? K : M, transA ? M : K], b, [1, transB ? N : K, transB ? K : N], transA, transB);
      const bound = dotBound(K + chooseTiling(M, N, K, 1).splits, ref.absSum);
      const ta = tensor(a, transA ? [K, M] : [M, K]);
      const tb = tensor(b, transB ? [N, K] : [K, N]);
      for (const [da, db] of [['f16', 'f16'], ['f16', 'f32'], ['f32', 'f16']] as const) {
        const c = matmulRaw(da === 'f16' ? cast(ta, 'f16') : ta, db === 'f16' ? cast(tb, 'f16') : tb, { transA, transB });
        check.ok(c.dtype === 'f32', `${da}·${db}: product is ${c.dtype}`);
        check.close(await c.toArray(), ref.value, bound, `${da}·${db}`);
      }
      // f16 output: the f32 sum rounded once to a half.
      const c16 = matmulRaw(cast(ta, 'f16'), cast(tb, 'f16'), { transA, transB, dtype: 'f16' });
      check.ok(c16.dtype === 'f16', `f16 output is ${c16.dtype}`);
      check.close(await c16.toArray(), ref.value, (i) => bound(i) + halfSpacing(ref.value[i]), 'f16 output');
    },
  })),
);

const convShapes: ConvShape[] = [
  { N: 2, H: 9, W: 9, Ci: 16, Co: 32, KH: 3, KW: 3, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1 },
  { N: 1, H: 7, W: 5, Ci: 3, Co: 5, KH: 3, KW: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1 },
  { N: 3, H: 8, W: 8, Ci: 16, Co: 16, KH: 3, KW: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1 },
];

const convCases = convShapes.map((s): KernelCase => ({
  suite: 'f16',
  name: `conv2d forward [${s.N},${s.H},${s.W},${s.Ci}]→${s.Co} s${s.sh} with f16 input and weights, bias, ReLU, f32 and f16 output`,
  async run(check) {
    const [Ho, Wo] = outSize(s);
    const x = halved(randn(s.N * s.H * s.W * s.Ci, s.H + s.Ci));
    const w = halved(randn(s.KH * s.KW * s.Ci * s.Co, s.Co, 0.2));
    const bias = randn(s.Co, 5);
    const ref = conv2dRef(x, w, s, bias);
    const relu = ref.value.map((v) => Math.max(v, 0));
    const K = s.KH * s.KW * s.Ci;
    const bound = dotBound(K + 1 + chooseTiling(s.N * Ho * Wo, s.Co, K, 1).splits, ref.absSum);
    const tx = tensor(x, [s.N, s.H, s.W, s.Ci], 'f16');
    const tw = tensor(w, [s.KH, s.KW, s.Ci, s.Co], 'f16');
    const options = { stride: s.sh, padding: s.ph, relu: true };
    check.close(await conv2d(tx, tw, tensor(bias), options).toArray(), relu, bound, 'f32 output');
    const y16 = conv2d(tx, tw, tensor(bias), { ...options, dtype: 'f16' });
    check.equal(y16.shape, [s.N, Ho, Wo, s.Co], 'shape');
    check.close(await y16.toArray(), relu, (i) => bound(i) + halfSpacing(relu[i]), 'f16 output');
  },
}));

export const halfCases: KernelCase[] = [castCase, ...matmulCases, ...convCases];
