import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/ops/elementwise.js';
import { tensor } from '../engine/tensor.js';
import { runCase } from './cases/check.js';
import { binaryOps, elementwiseCases, scalarInput, unaryOps } from './cases/elementwise.js';
import { assertClose, gradCheck, randn, setupGpu, uniform } from './helpers.js';

test.before(setupGpu);

const ulp = (v: number) => Math.max(Math.abs(v), 2 ** -126) * 2 ** -23;
const kernelCase = (name: string) => elementwiseCases.find((c) => c.name === name)!;

// Forward values against the float64 reference are shared cases (test/cases/elementwise.ts, also run
// by the page's test mode); gradients are checked here by finite differences.
for (const [name, fn, , [lo, hi]] of unaryOps) {
  test(`${name} forward (sizes 1, 7, 1000) and gradient`, async () => {
    await runCase(kernelCase(`${name} forward (sizes 1, 7, 1000)`));
    if (name !== 'relu' && name !== 'abs') {
      await gradCheck(name, fn, [{ data: uniform(9, 3, lo + 0.05, hi), shape: [3, 3] }], { h: 1e-3 });
    } else {
      // Keep finite differences away from the kink at 0.
      const data = uniform(9, 4, 0.2, 2).map((v, i) => (i % 2 ? -v : v));
      await gradCheck(name, fn, [{ data, shape: [9] }]);
    }
  });
}

for (const [name, fn] of binaryOps) {
  test(`${name} with broadcasting and gradients`, async () => {
    await runCase(kernelCase(`${name} with broadcasting`));
    await gradCheck(name, fn, [
      { data: uniform(6, 5, -2, 2), shape: [2, 3] },
      { data: uniform(3, 6, 0.5, 2), shape: [3] },
    ]);
  });
}

test('a ReLU-ended op whose output has several consumers sums their gradients before the mask', async () => {
  // y feeds mul twice and add once: three gradients arrive, two are summed, the third with the mask.
  // a + b stays at least 0.3 from the kink.
  const a = uniform(12, 12, 0.5, 2).map((v, i) => (i % 3 ? v : -v));
  const b = uniform(12, 13, -0.2, 0.2);
  await gradCheck('addRelu, three consumers', (x, z) => {
    const y = E.addRelu(x, z);
    return E.add(E.mul(y, y), y);
  }, [{ data: a, shape: [3, 4] }, { data: b, shape: [3, 4] }]);
});

test('normalizeChannels: forward, gradient and bad arguments', async () => {
  await runCase(kernelCase('normalizeChannels: (x − shift[c])·scale[c]'));
  await gradCheck('normalizeChannels', (x) => E.normalizeChannels(x, [0.5, -0.25, 1], [4, 0.5, -2]), [{ data: uniform(24, 8, -1, 1), shape: [2, 4, 3] }]);
  const x = tensor(new Float32Array(12), [2, 2, 3]);
  assert.throws(() => E.normalizeChannels(x, [0, 0], [1, 1]), /one shift and one scale per channel.*got 2 and 2/);
  assert.throws(() => E.normalizeChannels(tensor(new Float32Array(10), [2, 5]), [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]), /at most 4/);
  assert.throws(() => E.normalizeChannels(x, [0, NaN, 0], [1, 1, 1]), /must be finite/);
});

test('scalar ops: mulScalar, addScalar, clamp, powScalar', async () => {
  await runCase(kernelCase('scalar ops: mulScalar, addScalar, clamp, powScalar'));
  const x = scalarInput();
  const t = tensor(x);
  await gradCheck('powScalar', (a) => E.powScalar(a, 1.5), [{ data: x, shape: [11] }], { h: 1e-3 });
  await gradCheck('clamp', (a) => E.clamp(a, -0.5, 0.5), [{ data: Float32Array.from([-1, -0.2, 0.1, 0.3, 0.9]), shape: [5] }]);
  assert.throws(() => E.clamp(t, 2, 1), /lower bound 2 exceeds upper bound 1/);
});

test('addRelu = relu(a + b) in one pass, with its gradient', async () => {
  const a = uniform(37, 41, -2, 2);
  const b = uniform(37, 42, -2, 2);
  const y = E.addRelu(tensor(a), tensor(b));
  assertClose(await y.toArray(), Float64Array.from(a, (v, i) => Math.max(v + b[i], 0)), (i) => ulp(a[i] + b[i]), 'addRelu');
  // Keep a + b away from the kink at 0 for finite differences.
  const pa = uniform(12, 43, 0.2, 1).map((v, i) => (i % 3 ? v : -v - 1));
  await gradCheck('addRelu', (x, z) => E.addRelu(x, z), [{ data: pa, shape: [3, 4] }, { data: uniform(12, 44, 0, 0.1), shape: [3, 4] }]);
});

test('shape mismatch names both shapes', () => {
  assert.throws(() => E.add(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(4), [4])), /add: shapes \[2,3\] and \[4\] do not broadcast/);
});

test('gradients accumulate when a tensor is used twice', async () => {
  const x = tensor(randn(4, 1), [4]);
  x.requiresGrad = true;
  const { backward } = await import('../engine/autograd.js');
  const { sum } = await import('../engine/ops/reduce.js');
  const y = sum(E.add(E.mul(x, x), x)); // d/dx (x² + x) = 2x + 1
  backward(y);
  const xs = await x.toArray();
  assertClose(await x.grad!.toArray(), Float64Array.from(xs, (v) => 2 * v + 1), (i) => 4 * ulp(2 * xs[i] + 1), 'x² + x');
});

test.run();
