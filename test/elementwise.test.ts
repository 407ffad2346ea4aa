import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as E from '../engine/ops/elementwise.js';
import { tensor, type Tensor } from '../engine/tensor.js';
import { assertClose, gradCheck, randn, setupGpu, uniform } from './helpers.js';
import { mapRef } from './reference/elementwise.js';

test.before(setupGpu);

const ulp = (v: number) => Math.max(Math.abs(v), 2 ** -126) * 2 ** -23;

// WGSL accuracy (spec §"Floating-point accuracy"): + − × correctly rounded, ÷ 2.5 ULP, exp 3+2|x| ULP,
// log 3 ULP (absolute 2^-21 on [0.5, 2]), sqrt 2.5 ULP (as inverseSqrt), tanh/sigmoid built on exp.
const unaryCases: [string, (x: Tensor) => Tensor, (v: number) => number, [number, number], (ref: number, x: number) => number][] = [
  ['neg', E.neg, (v) => -v, [-3, 3], () => 0],
  ['relu', E.relu, (v) => Math.max(v, 0), [-3, 3], () => 0],
  ['exp', E.exp, Math.exp, [-5, 5], (r, x) => (3 + 2 * Math.abs(x)) * ulp(r)],
  ['log', E.log, Math.log, [0.05, 20], (r) => Math.max(3 * ulp(r), 2 ** -21)],
  ['sqrt', E.sqrt, Math.sqrt, [0.01, 50], (r) => 2.5 * ulp(r)],
  ['abs', E.abs, Math.abs, [-3, 3], () => 0],
  ['square', E.square, (v) => v * v, [-3, 3], (r) => ulp(r)],
  ['sigmoid', E.sigmoid, (v) => 1 / (1 + Math.exp(-v)), [-6, 6], () => 2e-7],
  ['tanh', E.tanh, Math.tanh, [-4, 4], () => 1e-6],
];

for (const [name, fn, ref, [lo, hi], bound] of unaryCases) {
  test(`${name} forward (sizes 1, 7, 1000) and gradient`, async () => {
    for (const n of [1, 7, 1000]) {
      const x = uniform(n, n, lo, hi);
      const y = fn(tensor(x));
      const expected = Float64Array.from(x, ref);
      assertClose(await y.toArray(), expected, (i) => bound(expected[i], x[i]) + 1e-30, `${name}[${n}]`);
    }
    if (name !== 'relu' && name !== 'abs') {
      await gradCheck(name, fn, [{ data: uniform(9, 3, lo + 0.05, hi), shape: [3, 3] }], { h: 1e-3 });
    } else {
      // Keep finite differences away from the kink at 0.
      const data = uniform(9, 4, 0.2, 2).map((v, i) => (i % 2 ? -v : v));
      await gradCheck(name, fn, [{ data, shape: [9] }]);
    }
  });
}

const binaryCases: [string, (a: Tensor, b: Tensor) => Tensor, (a: number, b: number) => number, number][] = [
  ['add', E.add, (a, b) => a + b, 1],
  ['sub', E.sub, (a, b) => a - b, 1],
  ['mul', E.mul, (a, b) => a * b, 1],
  ['div', E.div, (a, b) => a / b, 2.5],
  ['maximum', E.maximum, Math.max, 0],
  ['minimum', E.minimum, Math.min, 0],
];

const shapePairs: [number[], number[]][] = [
  [[5], [5]],
  [[4, 3], [4, 3]],
  [[2, 3, 4], [4]],
  [[2, 1, 4], [3, 1]],
  [[1], [3, 5]],
  [[2, 3, 1, 5], [1, 3, 7, 1]],
  [[17], [1]],
];

for (const [name, fn, ref, ulps] of binaryCases) {
  test(`${name} with broadcasting and gradients`, async () => {
    for (const [sa, sb] of shapePairs) {
      const a = uniform(sa.reduce((x, y) => x * y, 1), 1, -2, 2);
      const b = uniform(sb.reduce((x, y) => x * y, 1), 2, 0.5, 2).map((v, i) => (i % 3 ? v : -v));
      const y = fn(tensor(a, sa), tensor(b, sb));
      const expected = mapRef(ref, [{ data: a, shape: sa }, { data: b, shape: sb }]);
      assert.equal([...y.shape], expected.shape);
      assertClose(await y.toArray(), expected.value, (i) => ulps * ulp(expected.value[i]), `${name} [${sa}]·[${sb}]`);
    }
    await gradCheck(name, fn, [
      { data: uniform(6, 5, -2, 2), shape: [2, 3] },
      { data: uniform(3, 6, 0.5, 2), shape: [3] },
    ]);
  });
}

test('scalar ops: mulScalar, addScalar, clamp, powScalar', async () => {
  const x = uniform(11, 9, 0.1, 3);
  const t = tensor(x);
  const close = async (y: Tensor, f: (v: number) => number, ulps: number, label: string) => {
    const e = Float64Array.from(x, f);
    assertClose(await y.toArray(), e, (i) => ulps * ulp(e[i]) + 1e-30, label);
  };
  await close(E.mulScalar(t, -2.5), (v) => v * -2.5, 1, 'mulScalar');
  await close(E.addScalar(t, 1.25), (v) => v + 1.25, 1, 'addScalar');
  await close(E.clamp(t, 0.5, 2), (v) => Math.min(Math.max(v, 0.5), 2), 0, 'clamp');
  await close(E.powScalar(t, 1.5), (v) => v ** 1.5, 64, 'powScalar'); // pow = exp2(y·log2 x): error grows with |y·log2 x|
  await gradCheck('powScalar', (a) => E.powScalar(a, 1.5), [{ data: x, shape: [11] }], { h: 1e-3 });
  await gradCheck('clamp', (a) => E.clamp(a, -0.5, 0.5), [{ data: Float32Array.from([-1, -0.2, 0.1, 0.3, 0.9]), shape: [5] }]);
  assert.throws(() => E.clamp(t, 2, 1), /lower bound 2 exceeds upper bound 1/);
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
