// f16 storage: host conversion, the shared kernel cases (casts, matmul and conv forward on packed
// halves with f32 sums), elementwise maps, ResNet20 inference, and the dtype checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad } from '../engine/autograd.js';
import { fromHalfBits, roundToHalf, toHalfBits } from '../engine/half.js';
import { cast } from '../engine/ops/cast.js';
import { addRaw } from '../engine/ops/elementwise.js';
import { full } from '../engine/ops/fill.js';
import { matmul } from '../engine/ops/matmul.js';
import { Generator } from '../engine/ops/random.js';
import { run } from '../engine/ops/run.js';
import { tensor } from '../engine/tensor.js';
import { resnet20 } from '../models/resnet.js';
import { fromHalfProgram, toHalfProgram } from '../shaders/cast.js';
import { runCase } from './cases/check.js';
import { halfCases, halved } from './cases/half.js';
import { randn, setupGpu, throwsWith, uniform } from './helpers.js';

test.before(setupGpu);

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

// Kernel cases shared with the page's test mode (test/cases/half.ts).
for (const c of halfCases) test(c.name, async () => void (await runCase(c)));

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
