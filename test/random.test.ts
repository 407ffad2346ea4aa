import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Generator, bernoulli, defaultGenerator, manualSeed, rand, randn, randomBits } from '../engine/ops/random.js';
import { runCase } from './cases/check.js';
import { randomCases } from './cases/random.js';
import { setupGpu } from './helpers.js';
import { philox4x32, philoxWords, uniformRef } from './reference/philox.js';

test.before(setupGpu);

const hex = (words: ArrayLike<number>) => Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, '0')).join(' ');

function moments(values: ArrayLike<number>): { mean: number; variance: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  const mean = sum / values.length;
  let sq = 0;
  for (let i = 0; i < values.length; i++) sq += (values[i] - mean) ** 2;
  return { mean, variance: sq / (values.length - 1) };
}

/**
 * Asserts a sample mean and variance within 6 standard deviations of their sampling distributions:
 * sd(mean) = σ/√n, sd(s²) ≈ √((μ4 − σ⁴)/n). A correct generator fails this about once in 5·10^8.
 */
function assertMoments(values: ArrayLike<number>, mean: number, variance: number, mu4: number, label: string): void {
  const n = values.length;
  const m = moments(values);
  const meanTol = 6 * Math.sqrt(variance / n);
  const varTol = 6 * Math.sqrt((mu4 - variance ** 2) / n);
  assert.ok(Math.abs(m.mean - mean) <= meanTol, `${label}: mean ${m.mean} vs ${mean} (tolerance ${meanTol.toExponential(2)})`);
  assert.ok(Math.abs(m.variance - variance) <= varTol, `${label}: variance ${m.variance} vs ${variance} (tolerance ${varTol.toExponential(2)})`);
}

/** A count of successes within 6σ of the binomial mean. */
function assertRate(hits: number, n: number, p: number, label: string): void {
  const tol = 6 * Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(hits - n * p) <= tol, `${label}: ${hits} of ${n}, expected ${n * p} ± ${tol.toFixed(1)}`);
}

test('CPU Philox4x32-10 reproduces the Random123 known-answer vectors', () => {
  assert.is(hex(philox4x32([0, 0, 0, 0], [0, 0])), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  assert.is(hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])), '408f276d 41c83b0e a20bc7c6 6d5451fd');
  assert.is(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])), 'd16cfe09 94fdcceb 5001e420 24126ea1');
});

// The comparisons with the CPU reference are shared cases (test/cases/random.ts, also run by the
// page's test mode).
for (const c of randomCases) test(c.name, async () => void (await runCase(c)));

test('uniform samples: range, 2^-24 grid, mean and variance', async () => {
  const n = 100_000;
  const u = await rand([n], { generator: new Generator(1) }).toArray();
  for (const v of u) assert.ok(v >= 0 && v < 1 && Number.isInteger(v * 2 ** 24), `uniform value ${v}`);
  // Moments of the uniform grid {k·2^-24}: mean ½ − 2^-25, variance (1 − 2^-48)/12, μ4 ≈ 1/80.
  assertMoments(u, 0.5 - 2 ** -25, (1 - 2 ** -48) / 12, 1 / 80, 'uniform [0,1)');
  const w = await rand([n], { lo: -2, hi: 3, generator: new Generator(2) }).toArray();
  for (const v of w) assert.ok(v >= -2 && v < 3, `uniform [-2, 3) value ${v}`);
  assertMoments(w, 0.5, 25 / 12, 625 / 80, 'uniform [-2,3)');
});

test('normal samples: mean, variance, tail rates and the Box–Muller maximum', async () => {
  const n = 100_000;
  const z = await randn([n], { generator: new Generator(3) }).toArray();
  assertMoments(z, 0, 1, 3, 'randn');
  let below0 = 0;
  let within1 = 0;
  let maxAbs = 0;
  for (const v of z) {
    if (v < 0) below0++;
    if (Math.abs(v) < 1) within1++;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  assertRate(below0, n, 0.5, 'P(z < 0)');
  assertRate(within1, n, 0.682689492137086, 'P(|z| < 1)');
  // u1 ≥ 2^-24 caps the radius at √(48 ln 2) ≈ 5.77 (plus rounding).
  assert.ok(maxAbs <= Math.sqrt(48 * Math.LN2) + 1e-3, `max |z| ${maxAbs}`);
  const y = await randn([n], { mean: 2, std: 3, generator: new Generator(4) }).toArray();
  assertMoments(y, 2, 9, 3 * 81, 'randn(mean 2, std 3)');
});

test('bernoulli rates, including p = 0 and p = 1', async () => {
  const n = 100_000;
  for (const p of [0.3, 0.5, 0.9]) {
    const b = await bernoulli([n], p, { generator: new Generator(5) }).toArray();
    let ones = 0;
    for (const v of b) {
      assert.ok(v === 0 || v === 1, `bernoulli value ${v}`);
      ones += v;
    }
    assertRate(ones, n, p, `bernoulli(${p})`);
  }
  assert.ok((await bernoulli([1001], 0).toArray()).every((v) => v === 0), 'p = 0 gives zeros');
  assert.ok((await bernoulli([1001], 1).toArray()).every((v) => v === 1), 'p = 1 gives ones');
});

test('random bits: every bit position is set half the time', async () => {
  const n = 100_000;
  const bits = await randomBits([n], { generator: new Generator(6) }).toArray();
  const counts = new Array<number>(32).fill(0);
  for (const w of bits) for (let k = 0; k < 32; k++) counts[k] += (w >>> k) & 1;
  counts.forEach((c, k) => assertRate(c, n, 0.5, `bit ${k}`));
});

test('generators: same seed repeats, calls never overlap, state round-trips through JSON', async () => {
  const a = new Generator(2024);
  const b = new Generator(2024);
  const first = await rand([5], { generator: a }).toArray();
  assert.equal(Array.from(await rand([5], { generator: b }).toArray()), Array.from(first), 'same seed, same values');
  assert.is(a.offset, 2n, 'five values consume two blocks');
  const saved = JSON.parse(JSON.stringify(a.getState()));
  const second = await rand([3], { generator: a }).toArray();
  assert.is(a.offset, 3n);
  // The second call starts at block 2: blocks 0–2 of one stream, no word used twice.
  const words = philoxWords(2024n, 0n, 0, 12);
  assert.equal(Array.from(first), Array.from(uniformRef(words.subarray(0, 5), 0, 1)));
  assert.equal(Array.from(second), Array.from(uniformRef(words.subarray(8, 11), 0, 1)));
  assert.equal(Array.from(await rand([3], { generator: new Generator().setState(saved) }).toArray()), Array.from(second), 'setState reproduces');
  const third = await rand([3], { generator: a }).toArray();
  assert.not.equal(Array.from(third), Array.from(second), 'consecutive calls differ');
  assert.not.equal(Array.from(await rand([5], { generator: new Generator(2025) }).toArray()), Array.from(first), 'another seed differs');
  assert.not.equal(Array.from(await rand([5], { generator: new Generator(2024, { stream: 1 }) }).toArray()), Array.from(first), 'another stream differs');
  const big = new Generator(2n ** 64n - 1n, { offset: 2n ** 40n });
  assert.equal(big.getState(), { seed: '18446744073709551615', offset: '1099511627776', stream: 0 });
  assert.equal(Array.from(await randomBits([4], { generator: big }).toArray()), Array.from(philoxWords(2n ** 64n - 1n, 2n ** 40n, 0, 4)));
});

test('the default generator follows manualSeed; empty shapes consume nothing', async () => {
  manualSeed(11);
  const x = await randn([7]).toArray();
  assert.is(defaultGenerator.offset, 2n);
  manualSeed(11);
  assert.equal(Array.from(await randn([7]).toArray()), Array.from(x));
  const empty = rand([0, 3]);
  assert.equal([...empty.shape], [0, 3]);
  assert.is(defaultGenerator.offset, 2n);
});

test('random ops and generators reject bad arguments', () => {
  assert.throws(() => rand([2], { lo: 1, hi: 1 }), /lo < hi/);
  assert.throws(() => rand([2], { lo: 0, hi: Infinity }), /lo < hi/);
  assert.throws(() => randn([2], { std: -1 }), /std ≥ 0/);
  assert.throws(() => bernoulli([2], 1.5), /p must be in \[0, 1\]/);
  assert.throws(() => bernoulli([2], NaN), /p must be in \[0, 1\]/);
  assert.throws(() => new Generator(-1), /seed must be an integer/);
  assert.throws(() => new Generator(2 ** 60), /seed must be an integer/);
  assert.throws(() => new Generator(2n ** 64n), /seed must be an integer/);
  assert.throws(() => new Generator(1.5), /seed must be an integer/);
  assert.throws(() => new Generator(0, { stream: 2 ** 32 }), /stream/);
  assert.throws(() => new Generator().setState({ seed: 'x', offset: '0' }), /seed must be an integer/);
  const nearEnd = new Generator(0, { offset: 2n ** 64n - 2n });
  nearEnd.reserve(2);
  assert.throws(() => nearEnd.reserve(1), /exhausted/);
});

test.run();
