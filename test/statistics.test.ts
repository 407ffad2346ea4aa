// The study's statistics on data whose answers were worked out by hand (comments give the working).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { holm, quantile, signTest, spearmanRho, spearmanTest, stratifiedBootstrapCi, verdictOf, wilcoxonSignedRank } from '../experiments/study/statistics.js';

const near = (a: number, b: number, tol: number, label: string) => assert.ok(Math.abs(a - b) <= tol, `${label}: ${a} vs ${b}`);

test('spearman: perfect order has ρ = 1 and exact p = 2/4! (identity and reversal)', () => {
  const r = spearmanTest([1, 2, 3, 4], [10, 20, 30, 40]);
  assert.is(r.value, 1);
  near(r.pValue, 2 / 24, 1e-12, 'p');
  assert.is(r.n, 4);
  assert.match(r.method, /exact permutation \(24 orderings\)/);
});

test('spearman: n = 3 with one swap gives ρ = 1 − 6·2/(3·8) = 0.5, and every ordering is as extreme (p = 1)', () => {
  const r = spearmanTest([1, 2, 3], [1, 3, 2]);
  near(r.value, 0.5, 1e-12, 'ρ');
  near(r.pValue, 1, 1e-12, 'p');
});

test('spearman with ties: x = [1,1,2,2], y = [1,2,3,4] gives ρ = 4/√20 and p = 2/6 (2 of the 6 splits of y are as extreme)', () => {
  const r = spearmanTest([1, 1, 2, 2], [1, 2, 3, 4]);
  near(r.value, 4 / Math.sqrt(20), 1e-12, 'ρ');
  near(r.pValue, 1 / 3, 1e-12, 'p');
  near(spearmanRho([2, 2, 1, 1], [1, 2, 3, 4]), -4 / Math.sqrt(20), 1e-12, 'ρ reversed');
});

test('spearman: n = 2 has ρ = ±1 but p = 1; constant inputs and non-finite values are undefined with a reason', () => {
  const two = spearmanTest([1, 2], [3, 5]);
  assert.is(two.value, 1);
  assert.is(two.pValue, 1);
  const flat = spearmanTest([1, 2, 3], [4, 4, 4]);
  assert.ok(Number.isNaN(flat.value) && Number.isNaN(flat.pValue));
  assert.match(flat.undefinedReason!, /y is constant/);
  assert.match(spearmanTest([1, 1, 1], [1, 2, 3]).undefinedReason!, /x is constant/);
  assert.match(spearmanTest([1], [1]).undefinedReason!, /at least 2/);
  assert.match(spearmanTest([1, NaN, 3], [1, 2, 3]).undefinedReason!, /NaN/);
  assert.throws(() => spearmanTest([1, 2], [1]), /2 x values but 1 y values/);
});

test('spearman: the seeded Monte Carlo p agrees with the exact p within its sampling error, and never reaches 0', () => {
  const xs = [0.1, 0.5, 0.2, 0.9, 0.4, 0.3, 0.8, 0.6, 0.7];
  const ys = [1, 3, 4, 8, 2, 5, 7, 6, 9];
  const exact = spearmanTest(xs, ys);
  const mc = spearmanTest(xs, ys, { exactMaxN: 0, permutations: 20_000, seed: 5 });
  assert.is(mc.value, exact.value);
  // 4 standard errors of a binomial proportion over 20,000 draws.
  near(mc.pValue, exact.pValue, 4 * Math.sqrt((exact.pValue * (1 - exact.pValue)) / 20_000) + 1 / 20_000, 'p');
  assert.equal(spearmanTest(xs, ys, { exactMaxN: 0, seed: 5 }), spearmanTest(xs, ys, { exactMaxN: 0, seed: 5 }), 'seeded: repeatable');
  const ordered = Array.from({ length: 12 }, (_, i) => i);
  assert.is(spearmanTest(ordered, ordered, { permutations: 1000 }).pValue, 1 / 1001);
});

test('wilcoxon: five positive differences give W+ = 15 and exact p = 2/2⁵', () => {
  const r = wilcoxonSignedRank([1, 2, 3, 4, 5]);
  near(r.pValue, 2 / 32, 1e-12, 'p');
  assert.is(r.value, 3);
});

test('wilcoxon: [1, −2, 3, 4, 5] has W+ = 13; 3 subsets of {1..5} sum to ≥ 13 and 3 to ≤ 2, so p = 6/32', () => {
  near(wilcoxonSignedRank([1, -2, 3, 4, 5]).pValue, 6 / 32, 1e-12, 'p');
});

test('wilcoxon: zeros are dropped, tied magnitudes share ranks exactly, all-zero is undefined', () => {
  near(wilcoxonSignedRank([0, 1, 2]).pValue, 2 / 4, 1e-12, 'zeros dropped');
  // |d| all tied: W+ (doubled) ∈ {0, 4, 8, 12} with binomial weights; observed 8 is 2 from the centre 6, as is everything.
  near(wilcoxonSignedRank([1, 1, -1]).pValue, 1, 1e-12, 'ties');
  const zero = wilcoxonSignedRank([0, 0]);
  assert.ok(Number.isNaN(zero.pValue));
  assert.match(zero.undefinedReason!, /every difference is 0/);
  assert.match(wilcoxonSignedRank([]).undefinedReason!, /no pairs/);
});

test('sign test: 5 of 6 positive gives p = 2·(1 + 6)/2⁶', () => {
  near(signTest([1, 1, 1, 1, 1, -1]).pValue, 14 / 64, 1e-12, 'p');
  near(signTest([3, -1]).pValue, 1, 1e-12, 'n = 2');
  assert.match(signTest([0]).undefinedReason!, /every difference is 0/);
});

test('bootstrap: strata of one item give a degenerate interval; resampling stays within each stratum', () => {
  const items = [{ a: 0, v: 1 }, { a: 1, v: 5 }, { a: 2, v: 9 }];
  const mean = (s: typeof items) => s.reduce((t, x) => t + x.v, 0) / s.length;
  assert.equal(stratifiedBootstrapCi(items, (x) => x.a, mean, { replicates: 200 }).ci, [5, 5]);
  // Two strata {0, 2} and {10, 12}: every replicate's mean lies in [5, 7].
  const two = [{ a: 0, v: 0 }, { a: 0, v: 2 }, { a: 1, v: 10 }, { a: 1, v: 12 }];
  const { ci } = stratifiedBootstrapCi(two, (x) => x.a, mean, { replicates: 2000 });
  assert.ok(ci[0] >= 5 && ci[1] <= 7 && ci[0] < ci[1], `${ci}`);
  const undefinedStat = stratifiedBootstrapCi(two, (x) => x.a, () => NaN, { replicates: 10 });
  assert.ok(Number.isNaN(undefinedStat.ci[0]));
  assert.is(undefinedStat.dropped, 10);
});

test('quantile (type 7), Holm adjustment and the verdict rule', () => {
  assert.is(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.is(quantile([1, 2, 3, 4], 0), 1);
  assert.is(quantile([1, 2, 3, 4], 1), 4);
  // Sorted 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → raised to the running max 0.06.
  assert.equal(holm([0.01, 0.04, 0.03]).map((p) => +p.toFixed(12)), [0.03, 0.06, 0.06]);
  assert.ok(Number.isNaN(holm([NaN, 0.01])[0]));
  assert.is(holm([NaN, 0.01])[1], 0.01);
  assert.is(verdictOf(0.5, 0.01, 1), 'agrees');
  assert.is(verdictOf(-0.5, 0.01, 1), 'disagrees');
  assert.is(verdictOf(-0.5, 0.01, -1), 'agrees');
  assert.is(verdictOf(0.5, 0.2, 1), 'inconclusive');
  assert.is(verdictOf(0.5, 0.05, 1), 'inconclusive');
  assert.is(verdictOf(NaN, 0.01, 1), 'undefined');
  assert.is(verdictOf(0.5, NaN, 1), 'undefined');
});

test.run();
