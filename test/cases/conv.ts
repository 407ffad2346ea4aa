// Convolution forward, data-gradient and weight-gradient against float64 references.
import { conv2dDataGradRaw, conv2dForwardRaw, conv2dForwardSplits, conv2dWeightGradRaw, conv2dWeightGradSplits, convGeometry } from '../../engine/ops/conv.js';
import { chooseTiling } from '../../engine/ops/gemm.js';
import { tensor } from '../../engine/tensor.js';
import { conv2dDataGradRef, conv2dRef, conv2dWeightGradRef, outSize, type ConvShape } from '../reference/conv.js';
import type { Checker, KernelCase } from './check.js';
import { dotBound, randn, uniform } from './util.js';

const shape = (N: number, H: number, W: number, Ci: number, Co: number, K: number, s = 1, p = 0, d = 1, KW = K): ConvShape => ({ N, H, W, Ci, Co, KH: K, KW, sh: s, sw: s, ph: p, pw: p, dh: d, dw: d });

export const convShapes: ConvShape[] = [
  shape(1, 1, 1, 1, 1, 1),
  shape(2, 5, 5, 3, 16, 3, 1, 1), // RGB stem: Cin not a multiple of 4
  shape(1, 7, 7, 4, 8, 3, 2, 1), // stride 2, odd size
  shape(3, 8, 8, 16, 16, 3, 1, 1), // ResNet20 body block
  shape(2, 9, 9, 16, 32, 3, 2, 1), // stage transition
  shape(2, 8, 8, 16, 32, 1, 2, 0), // 1x1 projection shortcut
  shape(1, 17, 17, 5, 7, 3, 1, 1), // odd channels everywhere
  shape(1, 6, 9, 8, 12, 5, 1, 2, 1, 3), // rectangular kernel and image
  shape(1, 11, 11, 4, 4, 3, 1, 2, 2), // dilation 2
  shape(2, 33, 33, 3, 5, 7, 3, 3),
  shape(1, 4, 4, 12, 20, 4, 4, 0), // stride = kernel (patchify)
  shape(1, 9, 9, 4, 4, 3, 2, 2, 2), // stride 2 with dilation 2: the general strided data-gradient gather
  shape(1, 8, 8, 5, 6, 3, 2, 1), // strided with channel counts off the vec4 grid (scalar phase path)
  shape(1, 5, 5, 4, 8, 1, 1, 1), // padding beyond the kernel's reach: data gradient by gather, not the flipped conv
  // The forward's sliding tap window (stride 1 along the width, Wo a multiple of the row tile):
  shape(1, 4, 4, 64, 8, 3, 1, 1), // so few rows that K splits, and chunks start in the middle of a tap group
  shape(2, 6, 8, 8, 12, 3, 1, 2, 1, 5), // five taps across, padding 2
  { N: 1, H: 9, W: 8, Ci: 8, Co: 8, KH: 3, KW: 3, sh: 2, sw: 1, ph: 2, pw: 1, dh: 2, dw: 1 }, // stride and dilation along the height only
  // The weight gradient's window on CPU adapters (Wo a multiple of 4): K chunks starting mid-row,
  // and 36 output columns in two tiles of 32.
  shape(8, 12, 12, 16, 16, 3, 1, 1),
  shape(1, 5, 8, 8, 36, 3, 1, 1),
  // The same at stride 2 (a block's last column is the next block's first), and with 2 taps across
  // (nothing carried from block to block).
  shape(4, 16, 16, 8, 12, 3, 2, 1),
  shape(2, 16, 16, 4, 8, 2, 2, 0),
  // 64 channels with so few rows that K splits across chunks (the larger tiles below never split).
  shape(2, 8, 8, 64, 64, 3, 1, 1),
  // CPU adapters' larger window tiles, which need 1,024 thread tiles: 16×16 at 16 output channels,
  // 4×64 from 64 and 8×64 from 128 (two column tiles, also for the weight gradient's 12×64).
  shape(16, 32, 32, 8, 16, 3, 1, 1),
  shape(4, 32, 32, 4, 64, 3, 1, 1),
  shape(4, 32, 32, 4, 128, 3, 1, 1),
];

const both = (a: number, b: number) => (a === b ? `${a}` : `${a},${b}`);
const fmt = (s: ConvShape) => `[${s.N},${s.H},${s.W},${s.Ci}]→${s.Co} k${s.KH}x${s.KW} s${both(s.sh, s.sw)} p${both(s.ph, s.pw)} d${both(s.dh, s.dw)}`;

export const convCases: KernelCase[] = convShapes.map((s): KernelCase => ({
  suite: 'conv',
  name: `conv2d forward / data-grad / weight-grad ${fmt(s)}`,
  async run(check) {
    const [Ho, Wo] = outSize(s);
    const x = randn(s.N * s.H * s.W * s.Ci, s.H * 31 + s.Ci);
    const w = randn(s.KH * s.KW * s.Ci * s.Co, s.Co * 17 + s.KH);
    const dy = randn(s.N * Ho * Wo * s.Co, 99 + s.N);
    const tx = tensor(x, [s.N, s.H, s.W, s.Ci]);
    const tw = tensor(w, [s.KH, s.KW, s.Ci, s.Co]);
    const tdy = tensor(dy, [s.N, Ho, Wo, s.Co]);
    const g = convGeometry(tx, tw, { stride: [s.sh, s.sw], padding: [s.ph, s.pw], dilation: [s.dh, s.dw] });
    check.equal([g.Ho, g.Wo], [Ho, Wo], 'output size');

    const fwd = conv2dRef(x, w, s);
    const K = s.KH * s.KW * s.Ci;
    const y = conv2dForwardRaw(tx, tw, g);
    check.close(await y.toArray(), fwd.value, dotBound(K + conv2dForwardSplits(g), fwd.absSum), 'forward');

    const dgrad = conv2dDataGradRef(dy, w, s);
    const Kd = s.KH * s.KW * s.Co;
    const dx = conv2dDataGradRaw(tdy, tw, g);
    check.close(await dx.toArray(), dgrad.value, dotBound(Kd + chooseTiling(s.N * s.H * s.W, s.Ci, Kd, 1).splits, dgrad.absSum), 'data-grad');

    const wgrad = conv2dWeightGradRef(x, dy, s);
    const Kw = s.N * Ho * Wo;
    const dw = conv2dWeightGradRaw(tx, tdy, g);
    check.close(await dw.toArray(), wgrad.value, dotBound(Kw + conv2dWeightGradSplits(g), wgrad.absSum), 'weight-grad');
    [tx, tw, tdy, y, dx, dw].forEach((t) => t.dispose());
  },
}));

/**
 * The write-out of a residual block, relu(conv(x) + bias + residual), fused into the GEMM. The bias
 * and the residual are two more terms of each output's sum, so the dot-product bound covers them
 * (ReLU is 1-Lipschitz and adds no error). The second shape has so few output tiles that K is split
 * and the epilogue runs after the partial sums; the first, with K = 72, is never split.
 */
const residualShapes: ConvShape[] = [shape(2, 8, 8, 8, 16, 3, 1, 1), shape(1, 2, 2, 64, 8, 3, 1, 1)];

/** The convolution a write-out case starts from: inputs (seeds `seed`, `seed` + 1), geometry, its K split checked, and the reference. */
function writeOutSetup(s: ConvShape, k: number, seed: number, check: Checker) {
  const [Ho, Wo] = outSize(s);
  const K = s.KH * s.KW * s.Ci;
  const x = randn(s.N * s.H * s.W * s.Ci, seed);
  const w = randn(K * s.Co, seed + 1, 0.3);
  const tx = tensor(x, [s.N, s.H, s.W, s.Ci]);
  const tw = tensor(w, [s.KH, s.KW, s.Ci, s.Co]);
  const g = convGeometry(tx, tw, { padding: s.ph });
  const splits = conv2dForwardSplits(g);
  check.ok((splits > 1) === (k === 1), `K split as intended (${splits} splits)`);
  return { outShape: [s.N, Ho, Wo, s.Co], outSize: s.N * Ho * Wo * s.Co, K, tx, tw, g, splits, conv: conv2dRef(x, w, s) };
}

export const convResidualCases: KernelCase[] = residualShapes.map((s, k): KernelCase => ({
  suite: 'conv',
  name: `conv2d forward with bias, residual and ReLU in the write-out ${fmt(s)}${k === 1 ? ' (split K)' : ''}`,
  async run(check) {
    const { outShape, outSize, K, tx, tw, g, splits, conv } = writeOutSetup(s, k, 5 + k, check);
    const b = uniform(s.Co, 7 + k, -1, 1);
    const r = randn(outSize, 8 + k);
    const [tb, tr] = [tensor(b, [s.Co]), tensor(r, outShape)];
    const expected = conv.value.map((v, i) => Math.max(v + b[i % s.Co] + r[i], 0));
    const absSum = conv.absSum.map((v, i) => v + Math.abs(b[i % s.Co]) + Math.abs(r[i]));
    const y = conv2dForwardRaw(tx, tw, g, { bias: tb, residual: tr, relu: true });
    check.close(await y.toArray(), expected, dotBound(K + 2 + splits, absSum), 'relu(conv + bias + residual)');
    [tx, tw, tb, tr, y].forEach((t) => t.dispose());
  },
}));

/**
 * The gradient through a ReLU of two summed gradients, folded into a data gradient's write-out:
 * relu'(y) ⊙ (conv(x) + residual). The residual is one more term of each sum; the mask selects
 * values without rounding. Masks are ±1 with a zero at every seventh element (a ReLU's output at
 * the kink: its gradient is taken as zero). Same shapes as above, so the second splits K.
 */
export const convMaskCases: KernelCase[] = residualShapes.map((s, k): KernelCase => ({
  suite: 'conv',
  name: `conv2d forward with a residual and a ReLU mask in the write-out ${fmt(s)}${k === 1 ? ' (split K)' : ''}`,
  async run(check) {
    const { outShape, outSize, K, tx, tw, g, splits, conv } = writeOutSetup(s, k, 15 + k, check);
    const r = randn(outSize, 17 + k);
    const m = randn(outSize, 18 + k).map((v, i) => (i % 7 === 3 ? 0 : Math.sign(v || 1)));
    const [tr, tm] = [tensor(r, outShape), tensor(m, outShape)];
    const expected = conv.value.map((v, i) => (m[i] > 0 ? v + r[i] : 0));
    const absSum = conv.absSum.map((v, i) => v + Math.abs(r[i]));
    const y = conv2dForwardRaw(tx, tw, g, { residual: tr, mask: tm });
    const got = (await y.toArray()) as Float32Array;
    check.close(got, expected, dotBound(K + 1 + splits, absSum), 'relu\'(mask) ⊙ (conv + residual)');
    check.ok(got.every((v, i) => m[i] > 0 || Object.is(v, 0)), 'masked outputs are +0');
    [tx, tw, tr, tm, y].forEach((t) => t.dispose());
  },
}));
