// Class selectivity index in float64 (docs/method.md §3).
export const EPS = 1e-7;

/** Class means [K][C] of activations [N][C] and the per-class counts. */
export function classMeansRef(a: ArrayLike<number>, N: number, C: number, labels: ArrayLike<number>, K: number): { mu: Float64Array; counts: Float64Array } {
  const mu = new Float64Array(K * C);
  const counts = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    const k = labels[n];
    if (k < 0 || k >= K) continue;
    counts[k]++;
    for (let c = 0; c < C; c++) mu[k * C + c] += a[n * C + c];
  }
  for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) if (counts[k] > 0) mu[k * C + c] /= counts[k];
  return { mu, counts };
}

/** SI per unit; classes with no samples are left out; 0 when fewer than two classes are present. */
export function selectivityRef(mu: ArrayLike<number>, counts: ArrayLike<number>, K: number, C: number): Float64Array {
  const si = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const present = [];
    for (let k = 0; k < K; k++) if (counts[k] > 0) present.push(mu[k * C + c]);
    if (present.length < 2) continue;
    const max = Math.max(...present);
    const rest = (present.reduce((s, v) => s + v, 0) - max) / (present.length - 1);
    si[c] = (max - rest) / (max + rest + EPS);
  }
  return si;
}
