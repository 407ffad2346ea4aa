import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { covarianceSpectrum, dimensionalityOf } from '../experiments/analysis/dimensionality.js';
import { summarizeSpectrum, symmetricEigenvalues } from '../experiments/analysis/eigen.js';
import { tensor } from '../engine/tensor.js';
import { assertClose, randn, rng, setupGpu } from './helpers.js';
import { covarianceEigenvaluesRef, orthonormalColumns } from './reference/pca.js';

test.before(setupGpu);

test('symmetric eigenvalues of Q·Λ·Qᵀ recover Λ', () => {
  for (const n of [1, 2, 7, 40]) {
    const r = rng(n);
    const q = orthonormalColumns(n, n, r);
    const lambda = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? -1 : 1) * (n - i) * 0.7);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += q[k][i] * lambda[k] * q[k][j];
    const got = symmetricEigenvalues(a, n);
    const expected = [...lambda].sort((x, y) => y - x);
    // Householder + QL are backward stable: errors ≈ n·ε·‖A‖.
    assertClose(got, expected, 64 * n * Number.EPSILON * Math.max(...lambda.map(Math.abs)), `n=${n}`);
  }
  assert.throws(() => symmetricEigenvalues([1, 2, 3], 2), /expected 2×2/);
});

test('PCA of synthetic data of known rank and spectrum', async () => {
  const N = 40;
  const D = 60;
  const lambda = [10, 5, 2, 1, 0.5];
  const r = rng(9);
  const u = orthonormalColumns(N, lambda.length, r, true); // centred sample directions
  const v = orthonormalColumns(D, lambda.length, r);
  const x = new Float32Array(N * D);
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) for (let k = 0; k < lambda.length; k++) x[n * D + d] += u[k][n] * Math.sqrt(lambda[k] * (N - 1)) * v[k][d];
  const summary = await dimensionalityOf(tensor(x, [N, D]));
  // Cumulative variance: 10, 15, 17, 18 of 18.5 → 95% needs 4 components; PR = 18.5² / Σλ².
  assert.is(summary.components, 4);
  assert.ok(Math.abs(summary.participationRatio - 18.5 ** 2 / 130.25) < 1e-3, `PR ${summary.participationRatio}`);
  assert.ok(Math.abs(summary.totalVariance - 18.5) < 1e-3);
  const spectrum = await covarianceSpectrum(tensor(x, [N, D]));
  // f32 Gram of D-term dot products: error ≲ γ_D·Σ|x_i x_j| ≈ D·u·(row norm²) per entry.
  assertClose(spectrum.slice(0, 5), lambda, 1e-3, 'leading eigenvalues');
  assert.ok(Math.max(...spectrum.slice(5).map(Math.abs)) < 1e-3, 'rank 5');
});

test('Gram-route spectrum matches the D×D covariance reference on random data', async () => {
  const N = 23;
  const D = 17;
  const x = randn(N * D, 4);
  const ref = covarianceEigenvaluesRef(x, N, D);
  const got = await covarianceSpectrum(tensor(x, [N, D]));
  // Non-zero eigenvalues agree (rank ≤ min(N − 1, D) = 17); f32 Gram entries carry ≈ D·u relative error.
  assertClose(got.slice(0, D), ref.slice(0, D), 64 * D * 2 ** -24 * ref[0] + 1e-6, 'spectrum');
  const a = summarizeSpectrum(got);
  const b = summarizeSpectrum(ref);
  assert.is(a.components, b.components);
  assert.ok(Math.abs(a.participationRatio - b.participationRatio) < 1e-3 * b.participationRatio);
});

test('spectrum summaries handle degenerate cases', () => {
  assert.equal(summarizeSpectrum([0, 0]).components, 0);
  assert.is(summarizeSpectrum([1, 1, 1, 1]).components, 4);
  assert.is(summarizeSpectrum([1, 1, 1, 1]).participationRatio, 4);
  assert.is(summarizeSpectrum([3, -1e-9]).components, 1);
});

test.run();
