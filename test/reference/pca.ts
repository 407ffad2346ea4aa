// PCA by the D×D sample covariance (the direct definition), float64.
import { symmetricEigenvalues } from '../../experiments/analysis/eigen.js';

export function covarianceEigenvaluesRef(x: ArrayLike<number>, N: number, D: number): Float64Array {
  const mean = new Float64Array(D);
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) mean[d] += x[n * D + d] / N;
  const cov = new Float64Array(D * D);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < D; i++) {
      const a = x[n * D + i] - mean[i];
      for (let j = 0; j < D; j++) cov[i * D + j] += (a * (x[n * D + j] - mean[j])) / (N - 1);
    }
  return symmetricEigenvalues(cov, D);
}

/** Random orthonormal columns (n × k) by Gram–Schmidt, optionally orthogonal to the all-ones vector. */
export function orthonormalColumns(n: number, k: number, random: () => number, orthogonalToOnes = false): Float64Array[] {
  const cols: Float64Array[] = [];
  if (orthogonalToOnes) cols.push(new Float64Array(n).fill(1 / Math.sqrt(n)));
  const skip = cols.length;
  while (cols.length < k + skip) {
    const v = Float64Array.from({ length: n }, () => random() - 0.5);
    for (const c of cols) {
      const dot = v.reduce((s, x, i) => s + x * c[i], 0);
      for (let i = 0; i < n; i++) v[i] -= dot * c[i];
    }
    const norm = Math.hypot(...v);
    if (norm > 1e-6) cols.push(v.map((x) => x / norm));
  }
  return cols.slice(skip);
}
