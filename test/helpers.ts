// Test utilities: one GPU per process, seeded random data, tolerance checks and finite differences.
import { spawn } from 'node:child_process';
import * as assert from 'uvu/assert';
import { initGpu } from '../engine/device.js';
import { backward } from '../engine/autograd.js';
import { scope, tensor, type Tensor } from '../engine/tensor.js';
import '../engine/ops/index.js';
import { closeFailure } from './cases/check.js';
import { randn, rng } from './cases/util.js';

export async function setupGpu(): Promise<void> {
  await initGpu();
}

/** Runs the built CLI in a child process; resolves with its exit code and stdout+stderr together. */
export function runCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/experiments/cli.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

// Seeded data and error bounds live in ./cases/util.ts, shared with the page's test mode.
export { U, dotBound, numel, randn, rng, uniform } from './cases/util.js';

/**
 * Asserts |actual - expected| ≤ bound(i) elementwise, where bound is a number or a per-element
 * function. Reports the worst element.
 */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, bound: number | ((i: number) => number), label: string): void {
  assert.is(actual.length, expected.length, `${label}: length ${actual.length} vs ${expected.length}`);
  const failure = closeFailure(actual, expected, bound, label);
  if (failure) assert.unreachable(failure);
}

/** Relative tolerance check: |a - e| ≤ atol + rtol·|e|. */
export function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, label: string): void {
  assertClose(actual, expected, (i) => atol + rtol * Math.abs(expected[i]), label);
}

export interface GradCheckOptions {
  h?: number;
  /** Coordinates checked per input (random subset). */
  samples?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
}

/**
 * Central finite differences through the GPU forward against autograd. The scalar probed is
 * L = Σ y ⊙ R for a fixed random R, summed in float64 on the host, so the check sees every output.
 * Tolerance: FD truncation O(h²) plus f32 rounding of y amplified by 1/h (≈ 1e-3 relative for
 * h = 1e-2 on O(1) values); default rtol 2e-2 / atol 2e-3 of the largest gradient.
 */
export async function gradCheck(label: string, fn: (...xs: Tensor[]) => Tensor, inputs: { data: Float32Array; shape: number[]; grad?: boolean }[], options: GradCheckOptions = {}): Promise<void> {
  const { h = 1e-2, samples = 6, rtol = 2e-2, atol = 2e-3, seed = 7 } = options;
  const r = rng(seed);
  // Autograd gradients.
  const tensors = inputs.map((inp) => {
    const t = tensor(inp.data, inp.shape);
    t.requiresGrad = inp.grad !== false;
    return t;
  });
  const y0 = fn(...tensors);
  const R = randn(y0.size, seed + 1);
  const Rt = tensor(R, [...y0.shape]);
  backward(y0, { grad: Rt });
  const analytic = await Promise.all(tensors.map(async (t) => (t.grad ? await t.grad.toArray() : null)));
  y0.dispose();
  Rt.dispose();
  tensors.forEach((t) => t.dispose());
  const evalLoss = async (xs: Float32Array[]) => {
    const y = scope(() => {
      const ts = xs.map((d, i) => tensor(d, inputs[i].shape));
      return fn(...ts);
    });
    const vals = await y.toArray();
    y.dispose();
    let s = 0;
    for (let i = 0; i < vals.length; i++) s += vals[i] * R[i];
    return s;
  };
  for (let k = 0; k < inputs.length; k++) {
    if (inputs[k].grad === false) continue;
    const g = analytic[k]!;
    const scale = Math.max(...Array.from(g, Math.abs), 1e-6);
    const n = inputs[k].data.length;
    const picks = new Set<number>();
    while (picks.size < Math.min(samples, n)) picks.add(Math.floor(r() * n));
    for (const i of picks) {
      const plus = inputs.map((inp) => inp.data.slice());
      const minus = inputs.map((inp) => inp.data.slice());
      plus[k][i] += h;
      minus[k][i] -= h;
      const fd = ((await evalLoss(plus)) - (await evalLoss(minus))) / (2 * h);
      const err = Math.abs(fd - g[i]);
      if (!(err <= atol * scale + rtol * Math.abs(fd))) {
        assert.unreachable(`${label}: d/d input${k}[${i}]: autograd ${g[i]} vs finite difference ${fd} (|err| ${err.toExponential(2)}, max |grad| ${scale.toExponential(2)})`);
      }
    }
  }
}

/** Asserts fn throws with every fragment in its message; returns the message. */
export function throwsWith(fn: () => unknown, ...fragments: string[]): string {
  try {
    fn();
  } catch (err) {
    const message = (err as Error).message;
    for (const f of fragments) assert.ok(message.includes(f), `message ${JSON.stringify(message)} should contain ${JSON.stringify(f)}`);
    return message;
  }
  assert.unreachable(`expected an error containing ${fragments.map((f) => JSON.stringify(f)).join(', ')}`);
  return '';
}

/** Asserts the promise rejects with every fragment in its message. */
export async function rejectsWith(p: Promise<unknown>, ...fragments: string[]): Promise<void> {
  try {
    await p;
  } catch (err) {
    const message = (err as Error).message;
    for (const f of fragments) assert.ok(message.includes(f), `message ${JSON.stringify(message)} should contain ${JSON.stringify(f)}`);
    return;
  }
  assert.unreachable(`expected a rejection containing ${fragments.join(', ')}`);
}

/** Asserts fn throws or rejects with a message matching pattern; returns the message. */
export async function rejects(fn: () => unknown, pattern: RegExp, label: string): Promise<string> {
  try {
    await fn();
  } catch (e) {
    const msg = (e as Error).message;
    assert.match(msg, pattern, `${label}: message ${JSON.stringify(msg)}`);
    return msg;
  }
  assert.unreachable(`${label}: expected an error matching ${pattern}`);
  return '';
}

export function sameBytes(a: Uint8Array, b: Uint8Array, label: string): void {
  assert.is(a.length, b.length, `${label}: length`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) assert.unreachable(`${label}: byte ${i}: got ${a[i]}, expected ${b[i]}`);
}
