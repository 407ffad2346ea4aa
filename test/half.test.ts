// f16 storage: host conversion, casts, and GEMMs (matmul, conv forward) that read and write halves
// while summing in f32. References run in float64 on the values the f16 tensors actually hold.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cast } from '../engine/ops/cast.js';
import { conv2d, convGeometry } from '../engine/ops/conv.js';
import { addRaw } from '../engine/ops/elementwise.js';
import { full } from '../engine/ops/fill.js';
import { chooseTiling } from '../engine/ops/gemm.js';
import { matmul, matmulRaw } from '../engine/ops/matmul.js';
import { decodeHalves, encodeHalves, fromHalfBits, roundToHalf, toHalfBits } from '../engine/half.js';
import { tensor } from '../engine/tensor.js';
import { run } from '../engine/ops/run.js';
import { fromHalfProgram, toHalfProgram } from '../shaders/cast.js';
import { assertClose, dotBound, randn, setupGpu, throwsWith, uniform } from './helpers.js';
import { Generator } from '../engine/ops/random.js';
import { noGrad } from '../engine/autograd.js';
import { resnet20 } from '../models/resnet.js';
import { conv2dRef, outSize, type ConvShape } from './reference/conv.js';
import { matmulRef } from './reference/matmul.js';

test.before(setupGpu);

/** Spacing of halves at |v|: the storage rounding error is at most half of it. */
const halfUlp = (v: number) => 2 ** Math.max(Math.floor(Math.log2(Math.max(Math.abs(v), 2 ** -14))) - 10, -24);
const halved = (values: Float32Array) => decodeHalves(encodeHalves(values));

test('host f16 encoding round-trips every half and rounds ties to even', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = fromHalfBits(h);
    if (Number.isNaN(v)) continue;
    assert.is(toHalfBits(v), h, `bits ${h.toString(16)}`);
    if ((h & 0x7fff) < 0x7bff) {
      const mid = (v + fromHalfBits(h + 1)) / 2;
      assert.is(toHalfBits(mid), h & 1 ? h + 1 : h, `tie above ${h.toString(16)}`);
    }
  }
  assert.is(toHalfBits(65519.99), 0x7bff);
  assert.is(toHalfBits(65520), 0x7c00);
  assert.is(roundToHalf(1 + 2 ** -12), 1);
});

test('f16 tensors upload, read back and fill, odd sizes included', async () => {
  for (const n of [1, 2, 7, 1001]) {
    const x = randn(n, n, 3);
    assert.equal(Array.from(await tensor(x, [n], 'f16').toArray()), Array.from(halved(x)), `upload ${n}`);
    assert.equal(Array.from(await full([n], -2.5, 'f16').toArray()), new Array(n).fill(-2.5), `fill ${n}`);
  }
});

test('cast f32 → f16 → f32 rounds to a nearest half and saturates; f16 → f32 is exact', async () => {
  for (const n of [1, 5, 64, 999]) {
    const x = randn(n, 7 * n, 10);
    x[0] = 1e6;
    if (n > 1) x[1] = -7e4;
    const h = cast(tensor(x), 'f16');
    assert.is(h.dtype, 'f16');
    const back = await cast(h, 'f32').toArray();
    for (let i = 0; i < n; i++) {
      const want = Math.max(-65504, Math.min(65504, x[i]));
      // WGSL lets the conversion pick either neighbouring half: within one spacing of the value.
      assert.ok(Math.abs(back[i] - want) <= halfUlp(want), `cast ${n}[${i}]: ${x[i]} → ${back[i]}`);
      assert.is(roundToHalf(back[i]), back[i], `${back[i]} is a half`);
    }
    assert.equal(Array.from(await cast(tensor(halved(x), [n], 'f16'), 'f32').toArray()), Array.from(halved(x)), `exact widening ${n}`);
  }
});

test('matmul reads f16 operands (any mix, transposed, off the vec4 grid) and sums in f32', async () => {
  for (const [M, K, N] of [[5, 7, 3], [64, 48, 36], [130, 100, 33], [256, 256, 256]]) {
    for (const [transA, transB] of [[false, false], [true, false], [false, true]]) {
      const a = halved(randn(M * K, M + K));
      const b = halved(randn(K * N, N + 3 * K));
      const ref = matmulRef(a, [1, transA ? K : M, transA ? M : K], b, [1, transB ? N : K, transB ? K : N], transA, transB);
      const bound = dotBound(K + chooseTiling(M, N, K, 1).splits, ref.absSum);
      const ta = tensor(a, transA ? [K, M] : [M, K]);
      const tb = tensor(b, transB ? [N, K] : [K, N]);
      for (const [da, db] of [['f16', 'f16'], ['f16', 'f32'], ['f32', 'f16']] as const) {
        const label = `${M}x${K}·${K}x${N} transA=${transA} transB=${transB} ${da}·${db}`;
        const c = matmulRaw(da === 'f16' ? cast(ta, 'f16') : ta, db === 'f16' ? cast(tb, 'f16') : tb, { transA, transB });
        assert.is(c.dtype, 'f32');
        assertClose(await c.toArray(), ref.value, bound, label);
      }
      // f16 output: the f32 sum rounded once to a half.
      const c16 = matmulRaw(cast(ta, 'f16'), cast(tb, 'f16'), { transA, transB, dtype: 'f16' });
      assert.is(c16.dtype, 'f16');
      assertClose(await c16.toArray(), ref.value, (i) => bound(i) + halfUlp(ref.value[i]), `${M}x${K}·${K}x${N} transA=${transA} transB=${transB} f16 out`);
    }
  }
});

test('conv2d forward reads f16 input and weights, with bias and ReLU, and can store f16', async () => {
  const shapes: ConvShape[] = [
    { N: 2, H: 9, W: 9, Ci: 16, Co: 32, KH: 3, KW: 3, sh: 2, sw: 2, ph: 1, pw: 1, dh: 1, dw: 1 },
    { N: 1, H: 7, W: 5, Ci: 3, Co: 5, KH: 3, KW: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1 },
    { N: 3, H: 8, W: 8, Ci: 16, Co: 16, KH: 3, KW: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1 },
  ];
  for (const s of shapes) {
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
    const label = `[${s.N},${s.H},${s.W},${s.Ci}]→${s.Co} s${s.sh}`;
    assertClose(await conv2d(tx, tw, tensor(bias), options).toArray(), relu, bound, `${label} f32 out`);
    const y16 = conv2d(tx, tw, tensor(bias), { ...options, dtype: 'f16' });
    assert.equal(y16.shape, [s.N, Ho, Wo, s.Co]);
    assertClose(await y16.toArray(), relu, (i) => bound(i) + halfUlp(relu[i]), `${label} f16 out`);
    convGeometry(tx, tw, options);
  }
});

test('ResNet20 inference with f16 storage tracks f32 logits within the rounding budget of its layers', async () => {
  const model = resnet20({ generator: new Generator(3) });
  const x = tensor(uniform(16 * 32 * 32 * 3, 11, 0, 1), [16, 32, 32, 3]);
  // A few training-mode passes give the batch norms realistic running statistics.
  noGrad(() => {
    for (let i = 0; i < 5; i++) model.forward(x);
  });
  model.eval();
  const wide = (await noGrad(() => model.forward(x).logits).toArray()) as Float32Array;
  model.storage = 'f16';
  const result = noGrad(() => model.forward(x));
  assert.is(result.blocks[0].dtype, 'f16');
  const narrow = (await result.logits.toArray()) as Float32Array;
  // 20 stored layers, each rounding activations and weights to 11-bit mantissas (relative 2^-11):
  // to first order the logits move by at most 2·20·2^-11 of their scale.
  const scale = Math.max(...Array.from(wide, Math.abs));
  const budget = 2 * 20 * 2 ** -11 * scale;
  let worst = 0;
  for (let i = 0; i < wide.length; i++) worst = Math.max(worst, Math.abs(narrow[i] - wide[i]));
  assert.ok(worst <= budget, `max |Δlogit| ${worst} > budget ${budget}`);
  for (let n = 0; n < 16; n++) {
    const row = (v: Float32Array) => Array.from(v.subarray(n * 10, n * 10 + 10));
    const w = row(wide);
    const top = w.indexOf(Math.max(...w));
    const sorted = [...w].sort((a, b) => b - a);
    if (sorted[0] - sorted[1] > 2 * budget) assert.is(row(narrow).indexOf(Math.max(...row(narrow))), top, `image ${n} top-1`);
  }
  model.train();
  throwsWith(() => noGrad(() => model.forward(x)), 'f16 storage is for eval-mode inference');
});

test('elementwise maps read and write f16; f16 tensors are refused where kernels expect f32, and never carry gradients', async () => {
  const h = tensor([1, 2, 3, 4], [4], 'f16');
  const sum = addRaw(h, tensor([1, 2, 3, 4.0005]));
  assert.is(sum.dtype, 'f16');
  assert.equal(Array.from(await sum.toArray()), [2, 4, 6, 8]); // 8.0005 rounds to the half 8
  throwsWith(() => addRaw(h, tensor([1])), 'f16 operands need equal shapes', '[4] [1]');
  // Every dispatch checks bindings: packed halves are never read as f32, nor f32 as halves.
  throwsWith(() => run(fromHalfProgram, { x: tensor([1, 2]), out: tensor([0, 0]) }, { count: 2 }, 1, 'widen'), "bound to 'x'", 'holds f16');
  throwsWith(() => run(toHalfProgram, { x: h, out: h }, { count: 4 }, 1, 'narrow'), "bound to 'x'", 'holds f32');
  const p = tensor(new Float32Array(4), [2, 2]);
  p.requiresGrad = true;
  throwsWith(() => cast(p, 'f16'), 'requires grad');
  const h2 = tensor([1, 2, 3, 4], [2, 2], 'f16');
  h2.requiresGrad = true;
  throwsWith(() => matmul(h2, tensor([1, 0, 0, 1], [2, 2])), 'requires grad', 'f32 tensors only');
  throwsWith(() => cast(tensor(new Int32Array(2)), 'f16'), 'f32 or f16');
});

test.run();
