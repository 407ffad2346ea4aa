// Hypothesis tests behind the study's verdicts: Spearman's ρ with a permutation p-value (exact for
// small n, seeded Monte Carlo otherwise), Wilcoxon's signed-rank and the sign test for paired
// differences (exact), a stratified bootstrap CI that resamples seeds within each α, Holm's
// adjustment, and the verdict rule. Undefined statistics (constant inputs, too few points) come back
// as NaN with a reason instead of a number that looks meaningful.
import { mulberry32 } from '../data/dataset.js';
import { meanOf, ranks } from '../report/stats.js';

/** Largest n whose permutation distribution is enumerated exactly (9! = 362,880 orderings). */
export const EXACT_PERMUTATION_MAX_N = 9;
export const DEFAULT_PERMUTATIONS = 20_000;
export const DEFAULT_BOOTSTRAP = 10_000;
export const ALPHA_LEVEL = 0.05;

export interface TestResult {
  /** The statistic (ρ, or the mean paired difference). NaN when undefined. */
  value: number;
  /** Two-sided p-value. NaN when undefined. */
  pValue: number;
  n: number;
  /** Why value or pValue is undefined. */
  undefinedReason?: string;
  /** How the p-value was obtained, e.g. "exact permutation (120 orderings)". */
  method: string;
}

/** Pearson correlation of two equal-length vectors in float64; NaN when either is constant. */
function correlation(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  const n = xs.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i] / n;
    my += ys[i] / n;
  }
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** Spearman's ρ with average ranks for ties; NaN for n < 2 or a constant input. */
export function spearmanRho(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new Error(`spearman: ${xs.length} x values but ${ys.length} y values`);
  if (xs.length < 2) return NaN;
  return correlation(ranks([...xs]), ranks([...ys]));
}

/** Calls visit with every ordering of 0..n-1 (Heap's algorithm, one swap between orderings). */
function forEachPermutation(n: number, visit: (p: Int32Array) => void): void {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  const c = new Int32Array(n);
  visit(p);
  for (let i = 1; i < n; ) {
    if (c[i] < i) {
      const j = i % 2 === 0 ? 0 : c[i];
      [p[j], p[i]] = [p[i], p[j]];
      visit(p);
      c[i]++;
      i = 1;
    } else {
      c[i] = 0;
      i++;
    }
  }
}

export interface PermutationOptions {
  permutations?: number;
  seed?: number;
  exactMaxN?: number;
}

/**
 * Spearman's ρ and its two-sided permutation p-value under H0 "y is exchangeable with respect to x".
 * Ties are kept: the ranks are fixed and only their pairing is permuted, so ρ of a permutation is a
 * monotone function of Σ rx·ry(π) and the comparison |ρπ| ≥ |ρ| is made on that sum.
 */
export function spearmanTest(xs: readonly number[], ys: readonly number[], options: PermutationOptions = {}): TestResult {
  const n = xs.length;
  if (ys.length !== n) throw new Error(`spearman: ${n} x values but ${ys.length} y values`);
  const bad = [...xs, ...ys].find((v) => !Number.isFinite(v));
  if (bad !== undefined) return { value: NaN, pValue: NaN, n, method: 'spearman', undefinedReason: `a value is ${bad}` };
  if (n < 2) return { value: NaN, pValue: NaN, n, method: 'spearman', undefinedReason: `needs at least 2 networks, has ${n}` };
  const rx = ranks([...xs]);
  const ry = ranks([...ys]);
  const rho = correlation(rx, ry);
  if (!Number.isFinite(rho)) return { value: NaN, pValue: NaN, n, method: 'spearman', undefinedReason: `${new Set(xs).size === 1 ? 'x' : 'y'} is constant across networks` };
  const centre = meanOf(rx) * meanOf(ry) * n;
  const dot = (perm: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += rx[i] * ry[perm[i]];
    return s;
  };
  const identity = Int32Array.from({ length: n }, (_, i) => i);
  const observed = Math.abs(dot(identity) - centre);
  // Sums of half-integer ranks are exact in float64; the slack only absorbs the subtraction of centre.
  const atLeast = (perm: ArrayLike<number>) => Math.abs(dot(perm) - centre) >= observed - 1e-9 * (1 + observed);
  if (n <= (options.exactMaxN ?? EXACT_PERMUTATION_MAX_N)) {
    let hits = 0;
    let total = 0;
    forEachPermutation(n, (p) => {
      total++;
      if (atLeast(p)) hits++;
    });
    return { value: rho, pValue: hits / total, n, method: `exact permutation (${total} orderings)` };
  }
  const B = options.permutations ?? DEFAULT_PERMUTATIONS;
  const random = mulberry32(options.seed ?? 1);
  const perm = Int32Array.from(identity);
  let hits = 0;
  for (let b = 0; b < B; b++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    if (atLeast(perm)) hits++;
  }
  // The observed ordering counts as one of the permutations, so p is never 0 (Phipson & Smyth 2010).
  return { value: rho, pValue: (hits + 1) / (B + 1), n, method: `${B} seeded random permutations` };
}

/** ln C(n, k). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

/** Exact two-sided sign test of paired differences (zeros dropped): value = mean difference. */
export function signTest(diffs: readonly number[]): TestResult {
  const n = diffs.length;
  const bad = diffs.find((v) => !Number.isFinite(v));
  if (bad !== undefined) return { value: NaN, pValue: NaN, n, method: 'sign test', undefinedReason: `a difference is ${bad}` };
  const nonzero = diffs.filter((d) => d !== 0);
  const m = nonzero.length;
  if (m === 0) return { value: n ? 0 : NaN, pValue: NaN, n, method: 'sign test', undefinedReason: n ? 'every difference is 0' : 'no pairs' };
  const positive = nonzero.filter((d) => d > 0).length;
  const k = Math.min(positive, m - positive);
  let tail = 0;
  for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(m, i) - m * Math.LN2);
  return { value: meanOf([...diffs]), pValue: Math.min(1, 2 * tail), n, method: `exact sign test (${positive} of ${m} positive)` };
}

/**
 * Wilcoxon signed-rank test, two-sided and exact: zero differences are dropped, tied |d| share their
 * average rank, and the null distribution of W+ is enumerated over all 2^m sign patterns of those
 * (possibly half-integer) ranks by dynamic programming, so ties are handled exactly. value = mean
 * of the differences.
 */
export function wilcoxonSignedRank(diffs: readonly number[]): TestResult {
  const n = diffs.length;
  const bad = diffs.find((v) => !Number.isFinite(v));
  if (bad !== undefined) return { value: NaN, pValue: NaN, n, method: 'wilcoxon', undefinedReason: `a difference is ${bad}` };
  const nonzero = diffs.filter((d) => d !== 0);
  const m = nonzero.length;
  if (m === 0) return { value: n ? 0 : NaN, pValue: NaN, n, method: 'wilcoxon', undefinedReason: n ? 'every difference is 0' : 'no pairs' };
  // Doubled ranks are integers even with ties.
  const doubled = ranks(nonzero.map(Math.abs)).map((r) => Math.round(2 * r));
  const total = doubled.reduce((a, b) => a + b, 0);
  let counts = new Float64Array(total + 1);
  counts[0] = 1;
  for (const r of doubled) {
    const next = new Float64Array(total + 1);
    for (let s = 0; s <= total; s++) {
      if (!counts[s]) continue;
      next[s] += counts[s] / 2;
      next[s + r] += counts[s] / 2;
    }
    counts = next;
  }
  const wPlus = nonzero.reduce((s, d, i) => s + (d > 0 ? doubled[i] : 0), 0);
  const distance = Math.abs(wPlus - total / 2);
  let p = 0;
  for (let s = 0; s <= total; s++) if (Math.abs(s - total / 2) >= distance) p += counts[s];
  return { value: meanOf([...diffs]), pValue: Math.min(1, p), n, method: `exact Wilcoxon signed-rank (W+ = ${wPlus / 2}, ${m} non-zero pairs)` };
}

/**
 * Percentile bootstrap CI of `statistic` over items grouped into strata (the seeds of each α): each
 * replicate resamples every stratum with replacement at its own size, so the design (which α values,
 * how many seeds each) stays fixed. Replicates whose statistic is undefined are dropped; with more
 * than half dropped the interval is undefined.
 */
export function stratifiedBootstrapCi<T>(items: readonly T[], stratum: (t: T) => number | string, statistic: (sample: T[]) => number, options: { replicates?: number; seed?: number; level?: number } = {}): { ci: [number, number]; replicates: number; dropped: number } {
  const B = options.replicates ?? DEFAULT_BOOTSTRAP;
  const level = options.level ?? 0.95;
  const strata = new Map<number | string, T[]>();
  for (const item of items) strata.set(stratum(item), [...(strata.get(stratum(item)) ?? []), item]);
  const random = mulberry32(options.seed ?? 2);
  const values: number[] = [];
  const sample: T[] = [];
  for (let b = 0; b < B; b++) {
    sample.length = 0;
    for (const group of strata.values()) for (let i = 0; i < group.length; i++) sample.push(group[Math.floor(random() * group.length)]);
    const v = statistic(sample);
    if (Number.isFinite(v)) values.push(v);
  }
  const dropped = B - values.length;
  if (values.length < B / 2) return { ci: [NaN, NaN], replicates: B, dropped };
  values.sort((a, b) => a - b);
  return { ci: [quantile(values, (1 - level) / 2), quantile(values, 1 - (1 - level) / 2)], replicates: B, dropped };
}

/** Linear-interpolation quantile (type 7) of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** Holm's step-down adjustment of a family of p-values (NaN entries stay NaN and are not counted). */
export function holm(pValues: readonly number[]): number[] {
  const defined = pValues.map((p, i) => [p, i] as const).filter(([p]) => Number.isFinite(p)).sort((a, b) => a[0] - b[0]);
  const adjusted = pValues.map(() => NaN);
  let running = 0;
  defined.forEach(([p, i], k) => {
    running = Math.max(running, Math.min(1, (defined.length - k) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

export type Verdict = 'agrees' | 'disagrees' | 'inconclusive' | 'undefined';

/** agrees: the expected sign with p < 0.05; disagrees: the opposite sign with p < 0.05; else inconclusive. */
export function verdictOf(value: number, pValue: number, expectedSign: 1 | -1, level = ALPHA_LEVEL): Verdict {
  if (!Number.isFinite(value) || !Number.isFinite(pValue)) return 'undefined';
  if (pValue >= level || value === 0) return 'inconclusive';
  return Math.sign(value) === expectedSign ? 'agrees' : 'disagrees';
}

