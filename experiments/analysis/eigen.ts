// Eigenvalues of a real symmetric matrix: Householder reduction to tridiagonal form, then the
// implicit QL algorithm with Wilkinson shifts (Golub & Van Loan §8.3). float64, O(n³); used for the
// N×N Gram matrices of the dimensionality analysis (N a few hundred), so the CPU is the right place.

/** Eigenvalues of the symmetric n×n matrix `a` (row-major; only read), sorted descending. */
export function symmetricEigenvalues(a: ArrayLike<number>, n: number): Float64Array {
  if (a.length !== n * n) throw new Error(`eigenvalues: expected ${n}×${n} = ${n * n} values, got ${a.length}`);
  const m = Float64Array.from(a);
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) {
    const avg = (m[i * n + j] + m[j * n + i]) / 2; // symmetrise away rounding asymmetry
    m[i * n + j] = m[j * n + i] = avg;
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalize(m, n, d, e);
  tridiagonalQl(d, e, n);
  return d.sort().reverse();
}

/** Householder: leaves the diagonal in d and the sub-diagonal in e[1..n-1]. */
function tridiagonalize(a: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    let h = 0;
    let scale = 0;
    if (l > 0) {
      for (let k = 0; k <= l; k++) scale += Math.abs(a[i * n + k]);
      if (scale === 0) {
        e[i] = a[i * n + l];
      } else {
        for (let k = 0; k <= l; k++) {
          a[i * n + k] /= scale;
          h += a[i * n + k] * a[i * n + k];
        }
        const f = a[i * n + l];
        const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        a[i * n + l] = f - g;
        let ff = 0;
        for (let j = 0; j <= l; j++) {
          let gg = 0;
          for (let k = 0; k <= j; k++) gg += a[j * n + k] * a[i * n + k];
          for (let k = j + 1; k <= l; k++) gg += a[k * n + j] * a[i * n + k];
          e[j] = gg / h;
          ff += e[j] * a[i * n + j];
        }
        const hh = ff / (h + h);
        for (let j = 0; j <= l; j++) {
          const fj = a[i * n + j];
          const gj = (e[j] -= hh * fj);
          for (let k = 0; k <= j; k++) a[j * n + k] -= fj * e[k] + gj * a[i * n + k];
        }
      }
    } else {
      e[i] = a[i * n + l];
    }
    d[i] = h;
  }
  e[0] = 0;
  for (let i = 0; i < n; i++) d[i] = a[i * n + i];
}

/** Implicit QL with shifts on the tridiagonal (d, e); eigenvalues end up in d. */
function tridiagonalQl(d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n > 0) e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m !== l) {
        if (iterations++ === 60) throw new Error('eigenvalues: QL iteration did not converge');
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
        let s = 1;
        let c = 1;
        let p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          let f = s * e[i];
          const b = c * e[i];
          r = Math.hypot(f, g);
          e[i + 1] = r;
          if (r === 0) {
            d[i + 1] -= p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
          f = 0;
        }
        if (r === 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
}

export interface SpectrumSummary {
  /** Components needed to explain `threshold` of the variance. */
  components: number;
  /** (Σλ)² / Σλ², a soft count of the dimensions in use. */
  participationRatio: number;
  totalVariance: number;
  /** Explained-variance fractions of the leading components (up to 50). */
  explained: number[];
}

/** Summarises a covariance spectrum (negative rounding noise is clipped to 0). */
export function summarizeSpectrum(eigenvalues: ArrayLike<number>, threshold = 0.95): SpectrumSummary {
  const values = Array.from(eigenvalues, (v) => Math.max(0, v)).sort((a, b) => b - a);
  const total = values.reduce((s, v) => s + v, 0);
  const squares = values.reduce((s, v) => s + v * v, 0);
  if (total === 0) return { components: 0, participationRatio: 0, totalVariance: 0, explained: [] };
  let cumulative = 0;
  let components = values.length;
  for (let i = 0; i < values.length; i++) {
    cumulative += values[i];
    if (cumulative >= threshold * total - 1e-12 * total) {
      components = i + 1;
      break;
    }
  }
  return { components, participationRatio: (total * total) / squares, totalVariance: total, explained: values.slice(0, 50).map((v) => v / total) };
}
