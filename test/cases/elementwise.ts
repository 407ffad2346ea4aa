// Elementwise kernels against float64 references, with WGSL's accuracy bounds.
import * as E from '../../engine/ops/elementwise.js';
import { tensor, type Tensor } from '../../engine/tensor.js';
import { mapRef } from '../reference/elementwise.js';
import type { KernelCase } from './check.js';
import { ulp, uniform } from './util.js';

// WGSL accuracy (spec §"Floating-point accuracy"): + − × correctly rounded, ÷ 2.5 ULP, exp 3+2|x| ULP,
// log 3 ULP (absolute 2^-21 on [0.5, 2]), sqrt 2.5 ULP (as inverseSqrt), tanh/sigmoid built on exp.
export const unaryOps: [string, (x: Tensor) => Tensor, (v: number) => number, [number, number], (ref: number, x: number) => number][] = [
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

export const binaryOps: [string, (a: Tensor, b: Tensor) => Tensor, (a: number, b: number) => number, number][] = [
  ['add', E.add, (a, b) => a + b, 1],
  ['sub', E.sub, (a, b) => a - b, 1],
  ['mul', E.mul, (a, b) => a * b, 1],
  ['div', E.div, (a, b) => a / b, 2.5],
  ['maximum', E.maximum, Math.max, 0],
  ['minimum', E.minimum, Math.min, 0],
];

export const shapePairs: [number[], number[]][] = [
  [[5], [5]],
  [[4, 3], [4, 3]],
  [[2, 3, 4], [4]],
  [[2, 1, 4], [3, 1]],
  [[1], [3, 5]],
  [[2, 3, 1, 5], [1, 3, 7, 1]],
  [[17], [1]],
  // Both share a last axis that is a multiple of 4: threads take 4 elements, and axes read alike merge.
  [[2, 3, 4, 8], [2, 1, 1, 8]],
  [[3, 1, 8], [1, 5, 8]],
];

const unaryCases: KernelCase[] = unaryOps.map(([name, fn, ref, [lo, hi], bound]) => ({
  suite: 'elementwise',
  name: `${name} forward (sizes 1, 7, 1000)`,
  async run(check) {
    for (const n of [1, 7, 1000]) {
      const x = uniform(n, n, lo, hi);
      const y = fn(tensor(x));
      const expected = Float64Array.from(x, ref);
      check.close(await y.toArray(), expected, (i) => bound(expected[i], x[i]) + 1e-30, `${name}[${n}]`);
    }
  },
}));

const binaryCases: KernelCase[] = binaryOps.map(([name, fn, ref, ulps]) => ({
  suite: 'elementwise',
  name: `${name} with broadcasting`,
  async run(check) {
    for (const [sa, sb] of shapePairs) {
      const a = uniform(sa.reduce((x, y) => x * y, 1), 1, -2, 2);
      const b = uniform(sb.reduce((x, y) => x * y, 1), 2, 0.5, 2).map((v, i) => (i % 3 ? v : -v));
      const y = fn(tensor(a, sa), tensor(b, sb));
      const expected = mapRef(ref, [{ data: a, shape: sa }, { data: b, shape: sb }]);
      check.equal([...y.shape], expected.shape, `${name} [${sa}]·[${sb}] shape`);
      check.close(await y.toArray(), expected.value, (i) => ulps * ulp(expected.value[i]), `${name} [${sa}]·[${sb}]`);
    }
  },
}));

/** The scalar-op inputs (the Node test reuses them for its gradient checks). */
export const scalarInput = () => uniform(11, 9, 0.1, 3);

const scalarCase: KernelCase = {
  suite: 'elementwise',
  name: 'scalar ops: mulScalar, addScalar, clamp, powScalar',
  async run(check) {
    const x = scalarInput();
    const t = tensor(x);
    const close = async (y: Tensor, f: (v: number) => number, ulps: number, label: string) => {
      const e = Float64Array.from(x, f);
      check.close(await y.toArray(), e, (i) => ulps * ulp(e[i]) + 1e-30, label);
    };
    await close(E.mulScalar(t, -2.5), (v) => v * -2.5, 1, 'mulScalar');
    await close(E.addScalar(t, 1.25), (v) => v + 1.25, 1, 'addScalar');
    await close(E.clamp(t, 0.5, 2), (v) => Math.min(Math.max(v, 0.5), 2), 0, 'clamp');
    await close(E.powScalar(t, 1.5), (v) => v ** 1.5, 64, 'powScalar'); // pow = exp2(y·log2 x): error grows with |y·log2 x|
  },
};

/** normalizeChannels inputs: channel counts 1 to 4, sizes off the vec4 grid included. */
export const affineShapes: number[][] = [[7, 1], [5, 2], [2, 4, 4, 3], [3, 3, 4]];

const affineCase: KernelCase = {
  suite: 'elementwise',
  name: 'normalizeChannels: (x − shift[c])·scale[c]',
  async run(check) {
    for (const shape of affineShapes) {
      const C = shape[shape.length - 1];
      const x = uniform(shape.reduce((a, b) => a * b, 1), C, 0, 1);
      const shift = Array.from({ length: C }, (_, c) => 0.4 + 0.05 * c);
      const scale = Array.from({ length: C }, (_, c) => 1 / (0.25 + 0.01 * c));
      const y = E.normalizeChannels(tensor(x, shape), shift, scale);
      // The kernel sees the constants as f32; a subtraction and a product, each correctly rounded,
      // are within (1 + u)² − 1 = 2u + u² of the exact result, relative.
      const expected = Float64Array.from(x, (v, i) => (v - Math.fround(shift[i % C])) * Math.fround(scale[i % C]));
      check.close(await y.toArray(), expected, (i) => (2 * 2 ** -24 + 2 ** -48) * Math.abs(expected[i]) + 1e-30, `[${shape}]`);
    }
  },
};

export const elementwiseCases: KernelCase[] = [...unaryCases, ...binaryCases, scalarCase, affineCase];
