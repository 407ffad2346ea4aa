// Seeded test data and floating-point error bounds, shared by the Node tests and the page's test mode
// (nothing here imports uvu or anything Node-only).

import { tensor, type Shape, type Tensor } from '../../engine/tensor.js';
import { mulberry32 } from '../../experiments/data/dataset.js';

/** Seeded uniform floats in [0, 1) (the project's mulberry32). */
export const rng = mulberry32;

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A tensor of `data` that backward() computes a gradient for (a leaf with requiresGrad). */
export function leaf(data: Float32Array, shape?: Shape): Tensor {
  const t = tensor(data, shape);
  t.requiresGrad = true;
  return t;
}

/** Unit roundoff of f32. */
export const U = 2 ** -24;

/** One f32 ULP at v (normal range). */
export const ulp = (v: number) => Math.max(Math.abs(v), 2 ** -126) * 2 ** -23;

/**
 * Dot-product error bound (Higham): |fl(Σ x_i y_i) − Σ x_i y_i| ≤ γ_n Σ|x_i y_i|, γ_n = n·u/(1−n·u).
 * `absSum` is Σ|x_i y_i| per output; n counts the terms plus any later summation of partials.
 */
export function dotBound(n: number, absSum: ArrayLike<number>): (i: number) => number {
  const gamma = (n * U) / (1 - n * U);
  return (i) => gamma * absSum[i] + 1e-30;
}
