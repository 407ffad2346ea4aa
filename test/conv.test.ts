import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward } from '../engine/autograd.js';
import { conv2d, conv2dForwardRaw, conv2dForwardSplits, conv2dForwardTile, conv2dWeightGradRaw, conv2dWeightGradSplits, conv2dWeightGradTile, convGeometry, setConvTapWindow } from '../engine/ops/conv.js';
import { chooseTiling } from '../engine/ops/gemm.js';
import { gpu } from '../engine/device.js';
import { tensor } from '../engine/tensor.js';
import { runCase } from './cases/check.js';
import { convCases, convMaskCases, convResidualCases } from './cases/conv.js';
import { gradCheck, randn, setupGpu } from './helpers.js';
import { conv2dDataGradRef, conv2dRef, conv2dWeightGradRef } from './reference/conv.js';
import { dotBound } from './cases/util.js';

test.before(setupGpu);

// The reference comparisons are shared cases (test/cases/conv.ts, also run by the page's test mode).
for (const c of [...convCases, ...convResidualCases, ...convMaskCases]) test(c.name, async () => void (await runCase(c)));

test('the forward tap window sums in another order than the plain gather, and both agree with the reference', async () => {
  // K = (kh, kw, ci) with the plain gather, (kh, ci/4, kw, ci%4) with the window: with two channel
  // blocks the orders differ, so outputs that differ at rounding level show the window ran.
  for (const [N, H, Ci, Co] of [[3, 8, 16, 16], [1, 4, 64, 8]]) {
    const s = { N, H, W: H, Ci, Co, KH: 3, KW: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1 };
    const x = randn(N * H * H * Ci, Ci);
    const w = randn(9 * Ci * Co, Co);
    const [tx, tw] = [tensor(x, [N, H, H, Ci]), tensor(w, [3, 3, Ci, Co])];
    const ref = conv2dRef(x, w, s);
    const outputs: Float32Array[] = [];
    try {
      for (const window of [false, true]) {
        setConvTapWindow(window);
        const g = convGeometry(tx, tw, { padding: 1 });
        const bound = dotBound(9 * Ci + conv2dForwardSplits(g), ref.absSum);
        const y = conv2dForwardRaw(tx, tw, g);
        const got = (await y.toArray()) as Float32Array;
        y.dispose();
        got.forEach((v, i) => assert.ok(Math.abs(v - ref.value[i]) <= bound(i), `${window ? 'window' : 'plain'} [${N},${H},${H},${Ci}]→${Co}: output ${i} is ${v}, expected ${ref.value[i]} ± ${bound(i)}`));
        outputs.push(got);
      }
    } finally {
      setConvTapWindow(true);
    }
    assert.ok(outputs[0].some((v, i) => v !== outputs[1][i]), `[${N},${H},${H},${Ci}]→${Co}: the window's outputs equal the plain gather's bit for bit, so it did not run`);
    [tx, tw].forEach((t) => t.dispose());
  }
});

test('on CPU adapters the weight gradient\'s tap window sums in other chunks than the plain gather, and both agree with the reference', async () => {
  // 8×16×16 pixels: the window's 12 rows per lane leave fewer threads, so K splits into 32 chunks
  // instead of 29 and the outputs differ at rounding level.
  const s = { N: 8, H: 16, W: 16, Ci: 16, Co: 16, KH: 3, KW: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1 };
  const x = randn(8 * 16 * 16 * 16, 41);
  const dy = randn(8 * 16 * 16 * 16, 42);
  const [tx, tdy, tw] = [tensor(x, [8, 16, 16, 16]), tensor(dy, [8, 16, 16, 16]), tensor(new Float32Array(9 * 16 * 16), [3, 3, 16, 16])];
  const g = convGeometry(tx, tw, { padding: 1 });
  const ref = conv2dWeightGradRef(x, dy, s);
  const outputs: Float32Array[] = [];
  const splits: number[] = [];
  try {
    for (const window of [false, true]) {
      setConvTapWindow(window);
      splits.push(conv2dWeightGradSplits(g));
      const bound = dotBound(8 * 16 * 16 + splits[splits.length - 1], ref.absSum);
      const dw = conv2dWeightGradRaw(tx, tdy, g);
      const got = (await dw.toArray()) as Float32Array;
      dw.dispose();
      got.forEach((v, i) => assert.ok(Math.abs(v - ref.value[i]) <= bound(i), `${window ? 'window' : 'plain'}: weight gradient ${i} is ${v}, expected ${ref.value[i]} ± ${bound(i)}`));
      outputs.push(got);
    }
  } finally {
    setConvTapWindow(true);
  }
  // The window runs on CPU adapters under the default tile, and then splits K in other chunks.
  const windowed = splits[0] !== splits[1];
  if (gpu().info.cpu) assert.ok(windowed, `the window took the plain gather's ${splits[0]} chunks, so it did not run`);
  const differ = outputs[0].some((v, i) => v !== outputs[1][i]);
  assert.is(differ, windowed, windowed ? 'the window\'s outputs equal the plain gather\'s bit for bit, so it did not run' : 'the plain gather changed its outputs between two runs');
  [tx, tdy, tw].forEach((t) => t.dispose());
});

test('on CPU adapters the kernel cases reach the larger window tiles they are meant to cover', () => {
  // test/cases/conv.ts's last shapes: if the tile rules change, these cases would silently stop
  // covering the tiles, so the tiles they take are pinned here.
  const expected: [number[], { tm: number; tn: number } | undefined, { tm: number; tn: number } | undefined][] = [
    [[16, 32, 8, 16], { tm: 16, tn: 16 }, { tm: 12, tn: 16 }],
    [[4, 32, 4, 64], { tm: 4, tn: 64 }, { tm: 12, tn: 32 }],
    [[4, 32, 4, 128], { tm: 8, tn: 64 }, { tm: 12, tn: 64 }],
    [[2, 8, 64, 64], undefined, { tm: 12, tn: 32 }], // too few rows for the larger forward tile
  ];
  for (const [[N, H, Ci, Co], forward, weightGrad] of expected) {
    const [x, w] = [tensor(new Float32Array(N * H * H * Ci), [N, H, H, Ci]), tensor(new Float32Array(9 * Ci * Co), [3, 3, Ci, Co])];
    const g = convGeometry(x, w, { padding: 1 });
    const cpu = gpu().info.cpu && !gpu().info.compatibility;
    assert.equal(conv2dForwardTile(g), cpu ? forward : undefined, `forward tile of [${N},${H},${H},${Ci}]→${Co}`);
    assert.equal(conv2dWeightGradTile(g), cpu ? weightGrad : undefined, `weight-gradient tile of [${N},${H},${H},${Ci}]→${Co}`);
    [x, w].forEach((t) => t.dispose());
  }
});

test('conv2d on an image\'s 1 to 3 channels: the forward equals the unpadded GEMM bit for bit, and the gradients agree with the reference', async () => {
  // On CPU adapters conv2d runs the forward and the weight gradient on a copy with a zero fourth
  // channel. The zero terms leave the forward's sums as they were (K = 27 or 9 is never split); the
  // weight gradient sums in the padded geometry's chunks; the data gradient stays unpadded.
  for (const [Ci, stride] of [[3, 1], [1, 1], [3, 2]]) {
    const [N, H, Co] = [4, 8, 16];
    const s = { N, H, W: H, Ci, Co, KH: 3, KW: 3, sh: stride, sw: stride, ph: 1, pw: 1, dh: 1, dw: 1 };
    const x = randn(N * H * H * Ci, 50 + Ci);
    const w = randn(9 * Ci * Co, 60 + Ci);
    const [tx, tw, tb] = [tensor(x, [N, H, H, Ci]), tensor(w, [3, 3, Ci, Co]), tensor(randn(Co, 70), [Co])];
    const g = convGeometry(tx, tw, { padding: 1, stride });
    const dy = randn(N * g.Ho * g.Wo * Co, 80 + Ci);
    const label = `[${N},${H},${H},${Ci}]→${Co} s${stride}`;
    const plain = await conv2dForwardRaw(tx, tw, g, { bias: tb }).toArray();
    [tx, tw, tb].forEach((t) => (t.requiresGrad = true));
    const y = conv2d(tx, tw, tb, { padding: 1, stride });
    assert.equal(Array.from(await y.toArray()), Array.from(plain), `${label}: forward`);
    backward(y, { grad: tensor(dy, y.shape) });
    const dx = conv2dDataGradRef(dy, w, s);
    const Kd = 9 * Co;
    const dxBound = dotBound(Kd + chooseTiling(N * H * H, Ci, Kd, 1).splits, dx.absSum);
    (await tx.grad!.toArray()).forEach((v, i) => assert.ok(Math.abs(v - dx.value[i]) <= dxBound(i), `${label}: data gradient ${i} is ${v}, expected ${dx.value[i]} ± ${dxBound(i)}`));
    const dw = conv2dWeightGradRef(x, dy, s);
    const dwBound = dotBound(N * g.Ho * g.Wo + conv2dWeightGradSplits({ ...g, Ci: 4 }), dw.absSum);
    (await tw.grad!.toArray()).forEach((v, i) => assert.ok(Math.abs(v - dw.value[i]) <= dwBound(i), `${label}: weight gradient ${i} is ${v}, expected ${dw.value[i]} ± ${dwBound(i)}`));
    [tx, tw, tb, y].forEach((t) => t.dispose());
  }
});

test('conv2d with bias: forward and finite-difference gradients', async () => {
  const x = randn(2 * 5 * 5 * 3, 1);
  const w = randn(3 * 3 * 3 * 4, 2, 0.5);
  const b = randn(4, 3);
  await gradCheck('conv2d s1 p1', (a, k, c) => conv2d(a, k, c, { padding: 1 }), [
    { data: x, shape: [2, 5, 5, 3] },
    { data: w, shape: [3, 3, 3, 4] },
    { data: b, shape: [4] },
  ]);
  await gradCheck('conv2d s2 p1', (a, k) => conv2d(a, k, null, { stride: 2, padding: 1 }), [
    { data: randn(1 * 6 * 6 * 4, 4), shape: [1, 6, 6, 4] },
    { data: randn(3 * 3 * 4 * 8, 5, 0.5), shape: [3, 3, 4, 8] },
  ]);
});

test('conv2d with a residual in the write-out: finite-difference gradients, with and without ReLU', async () => {
  const inputs = (seed: number) => [
    { data: randn(2 * 5 * 5 * 4, seed), shape: [2, 5, 5, 4] },
    { data: randn(3 * 3 * 4 * 8, seed + 1, 0.5), shape: [3, 3, 4, 8] },
    { data: randn(8, seed + 2), shape: [8] },
    { data: randn(2 * 5 * 5 * 8, seed + 3), shape: [2, 5, 5, 8] },
  ];
  await gradCheck('conv2d + residual', (a, k, c, r) => conv2d(a, k, c, { padding: 1, residual: r }), inputs(11));
  // With ReLU, a residual of magnitude 20 or more (the convolution's outputs stay within about ±12)
  // keeps every output far from the kink, so finite differences see the mask and nothing else.
  const far = inputs(21);
  far[3].data = far[3].data.map((v) => Math.sign(v || 1) * (20 + Math.abs(v)));
  await gradCheck('relu(conv2d + residual)', (a, k, c, r) => conv2d(a, k, c, { padding: 1, residual: r, relu: true }), far);
});

test('conv2d rejects a residual unlike its output', () => {
  const x = tensor(new Float32Array(2 * 4 * 4 * 3), [2, 4, 4, 3]);
  const w = tensor(new Float32Array(3 * 3 * 3 * 8), [3, 3, 3, 8]);
  assert.throws(() => conv2d(x, w, null, { padding: 1, residual: tensor(new Float32Array(2 * 4 * 4 * 4), [2, 4, 4, 4]) }), /residual must be f32 \[2,4,4,8\] like the output, got/);
});

test('conv2d rejects bad shapes and impossible geometry with named errors', () => {
  const x = tensor(new Float32Array(2 * 4 * 4 * 3), [2, 4, 4, 3]);
  assert.throws(() => conv2d(x, tensor(new Float32Array(3 * 3 * 4 * 8), [3, 3, 4, 8])), /expects 4 input channels.*has 3/);
  assert.throws(() => conv2d(tensor(new Float32Array(48), [4, 4, 3]), tensor(new Float32Array(27), [3, 3, 3, 1])), /NHWC/);
  assert.throws(() => conv2d(x, tensor(new Float32Array(7 * 7 * 3), [7, 7, 3, 1])), /does not fit input/);
  assert.throws(() => conv2d(x, tensor(new Float32Array(27), [3, 3, 3, 1]), null, { stride: 0 }), /stride must be an integer ≥ 1/);
  assert.throws(() => conv2d(x, tensor(new Float32Array(27), [3, 3, 3, 1]), null, { padding: -1 }), /padding must be an integer ≥ 0/);
});

test.run();
