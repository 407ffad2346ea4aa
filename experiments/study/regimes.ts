// The link in the other direction: does making a network robust change its selectivity and its
// early-layer dimensionality? A study may train every (α, seed) network under several training
// regimes; each robust regime is compared with the standard one network by network — the same α and
// seed, so the pair differs only in how it was trained — with the exact Wilcoxon signed-rank test
// and the sign test on the paired differences. Pure functions of the run records, like findings.ts.
import { pPhrase, type RunRecord } from '../report/report.js';
import { meanOf, medianOf, stdOf } from '../report/stats.js';
import { earlyDimensionality } from './findings.js';
import { holm, signTest, stratifiedBootstrapCi, verdictOf, wilcoxonSignedRank } from './statistics.js';

/** The regimes in their fixed order; the order also fixes which shard trains which network. */
export const REGIME_NAMES = ['standard', 'adversarial', 'corruption-aug'] as const;
export type RegimeName = (typeof REGIME_NAMES)[number];
export const STANDARD: RegimeName = 'standard';

/** Robust regimes live in their own sweep directories under the study's: DIR/regimes/<name>/. */
export const REGIMES_DIR = 'regimes';

/** The regime's sweep directory relative to the study's: the study itself for standard, so standard-only studies keep their layout. */
export function regimeSubdir(regime: RegimeName): string {
  return regime === STANDARD ? '' : `${REGIMES_DIR}/${regime}`;
}

/** "standard,adversarial" → the regimes in their fixed order; standard must be among them (the others are compared with it). */
export function parseRegimes(text: string): RegimeName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new Error(`--regimes: expected a comma-separated list of ${REGIME_NAMES.join(', ')}`);
  for (const name of names) {
    if (!(REGIME_NAMES as readonly string[]).includes(name)) throw new Error(`--regimes: '${name}' is not a regime; expected some of ${REGIME_NAMES.join(', ')}`);
    if (names.indexOf(name) !== names.lastIndexOf(name)) throw new Error(`--regimes: '${name}' is listed twice`);
  }
  if (!names.includes(STANDARD)) throw new Error(`--regimes: include standard (every robust regime is compared with the standard networks of the same α and seed)`);
  return REGIME_NAMES.filter((r) => names.includes(r));
}

/**
 * The shard of a regime's own sweep that holds exactly the networks of study shard i/n. Networks are
 * numbered across regimes (the standard ones first, as in a standard-only study; then each regime's
 * block of `perRegime`), and network k belongs to shard k mod n.
 */
export function regimeShard(shard: { index: number; count: number }, regime: RegimeName, perRegime: number): { index: number; count: number } {
  const offset = REGIME_NAMES.indexOf(regime) * perRegime;
  return { index: (((shard.index - offset) % shard.count) + shard.count) % shard.count, count: shard.count };
}

/** What a regime comparison measures on each network. */
export interface RegimeMeasure {
  id: string;
  label: string;
  /** The question's object: "does <regime> training change <what>?" */
  what: string;
  /** Primary measures form the family Holm's adjustment covers (with every robust regime). */
  primary: boolean;
  value: (r: RunRecord) => number | undefined;
}

export const REGIME_MEASURES: RegimeMeasure[] = [
  { id: 'SI', label: 'mean SI', what: 'class selectivity (mean SI over block outputs, test set)', primary: true, value: (r) => r.selectivity?.overall },
  { id: 'PC95', label: 'early PC95', what: 'early-layer dimensionality (principal components for 95% variance of the first block output, clean inputs)', primary: true, value: (r) => earlyDimensionality(r, 'clean', 'components') },
  { id: 'PR', label: 'early PR', what: 'early-layer dimensionality measured by the participation ratio of the first block output (clean inputs)', primary: false, value: (r) => earlyDimensionality(r, 'clean', 'participationRatio') },
  { id: 'mCA', label: 'mCA', what: 'mean accuracy over the benchmark corruptions (mCA)', primary: false, value: (r) => r.corruptions?.mCA },
  { id: 'AUC-Linf', label: 'PGD L∞ AUC', what: 'worst-case robustness (area under PGD L∞ accuracy vs ε)', primary: false, value: (r) => r.attacks.linf?.auc },
  { id: 'accuracy', label: 'test accuracy', what: 'clean test accuracy', primary: false, value: (r) => r.testAccuracy },
];

export interface RegimeRuns {
  regime: RegimeName;
  runs: RunRecord[];
}

/** Mean ± sd (sample standard deviation; null below 2 networks) of a measure over the networks of a regime, overall (alpha null) and per α (over seeds). */
export interface RegimeSummary {
  regime: RegimeName;
  measure: string;
  alpha: number | null;
  mean: number | null;
  sd: number | null;
  n: number;
}

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

export function summarizeRegimes(groups: RegimeRuns[]): RegimeSummary[] {
  const out: RegimeSummary[] = [];
  for (const { regime, runs } of groups) {
    const alphas = [...new Set(runs.map((r) => r.alpha))].sort((a, b) => a - b);
    for (const m of REGIME_MEASURES) {
      for (const alpha of [null, ...alphas]) {
        const values = runs.filter((r) => alpha === null || r.alpha === alpha).map(m.value).filter((v): v is number => Number.isFinite(v));
        // A standard deviation needs two networks; one network's is undefined, not 0.
        out.push({ regime, measure: m.id, alpha, mean: values.length ? meanOf(values) : null, sd: values.length > 1 ? stdOf(values) : null, n: values.length });
      }
    }
  }
  return out;
}

/** Which way a robust regime moves a measure: raises / lowers at p < 0.05 (two-sided), else inconclusive. */
export type RegimeVerdict = 'raises' | 'lowers' | 'inconclusive' | 'undefined';

export interface RegimeComparison {
  id: string;
  regime: RegimeName;
  measure: string;
  question: string;
  primary: boolean;
  statistic: 'wilcoxon';
  /** Mean paired difference robust − standard. */
  value: number | null;
  ci95: [number | null, number | null];
  pValue: number | null;
  /** Holm-adjusted over the primary comparisons of every robust regime (null for the others). */
  pHolm: number | null;
  signTestP: number | null;
  medianDifference: number | null;
  positive: number;
  negative: number;
  /** Pairs: networks of the same (α, seed) with the measure in both regimes. */
  n: number;
  verdict: RegimeVerdict;
  method: string;
  note?: string;
}

export interface RegimeOptions {
  bootstrap?: number;
  seed?: number;
}

const pairKey = (r: RunRecord) => `${r.alpha}|${r.seed}`;

const QUESTION_SUBJECT: Record<RegimeName, string> = { standard: 'standard training', adversarial: 'adversarial training', 'corruption-aug': 'corruption-augmented training' };

function compare(regime: RegimeName, robust: RunRecord[], standard: RunRecord[], m: RegimeMeasure, options: RegimeOptions): RegimeComparison {
  const base = new Map(standard.map((r) => [pairKey(r), r]));
  const pairs = robust.flatMap((r) => {
    const s = base.get(pairKey(r));
    const a = m.value(r);
    const b = s && m.value(s);
    return s && Number.isFinite(a) && Number.isFinite(b) ? [{ alpha: r.alpha, d: a! - b! }] : [];
  });
  const diffs = pairs.map((p) => p.d);
  const test = wilcoxonSignedRank(diffs);
  const sign = signTest(diffs);
  const boot = stratifiedBootstrapCi(pairs, (p) => p.alpha, (sample) => meanOf(sample.map((p) => p.d)), { replicates: options.bootstrap, seed: (options.seed ?? 0) + 3 });
  const unpaired = Math.max(robust.length, standard.length) - pairs.length;
  const note = [test.undefinedReason, unpaired > 0 ? `${unpaired} network(s) without a measured partner left out` : ''].filter(Boolean).join('; ');
  const verdict = verdictOf(test.value, test.pValue, 1);
  return {
    id: `${regime}:${m.id}`, regime, measure: m.id, primary: m.primary, statistic: 'wilcoxon',
    question: `Does ${QUESTION_SUBJECT[regime]} change ${m.what}?`,
    value: finiteOrNull(test.value), ci95: [finiteOrNull(boot.ci[0]), finiteOrNull(boot.ci[1])], pValue: finiteOrNull(test.pValue), pHolm: null,
    signTestP: finiteOrNull(sign.pValue), medianDifference: diffs.length ? medianOf(diffs) : null, positive: diffs.filter((d) => d > 0).length, negative: diffs.filter((d) => d < 0).length, n: diffs.length,
    verdict: verdict === 'agrees' ? 'raises' : verdict === 'disagrees' ? 'lowers' : verdict, method: test.method,
    ...(note ? { note } : {}),
  };
}

/** Every robust regime against the standard one, measure by measure; the primary comparisons Holm-adjusted as one family. */
export function compareRegimes(groups: RegimeRuns[], options: RegimeOptions = {}): RegimeComparison[] {
  const standard = groups.find((g) => g.regime === STANDARD);
  if (!standard) throw new Error('regime comparison: the standard regime\'s networks are needed as the reference');
  const results = groups.filter((g) => g.regime !== STANDARD).flatMap((g) => REGIME_MEASURES.map((m) => compare(g.regime, g.runs, standard.runs, m, options)));
  const primary = results.filter((c) => c.primary);
  holm(primary.map((c) => c.pValue ?? NaN)).forEach((p, i) => (primary[i].pHolm = finiteOrNull(p)));
  return results;
}

const num = (v: number | null, digits: number, signed = false) => (v === null ? '–' : `${signed && v > 0 ? '+' : ''}${v.toFixed(digits)}`);

/** The verdict line of one comparison, in the style of the findings' sentences. */
export function regimeSentence(c: RegimeComparison): string {
  const label = REGIME_MEASURES.find((m) => m.id === c.measure)?.label ?? c.measure;
  const holmText = c.pHolm === null ? '' : `, Holm-adjusted ${pPhrase(c.pHolm)}`;
  return `${c.id}: ${label} ${c.regime} − standard, mean paired difference ${num(c.value, 3, true)} (95% CI ${num(c.ci95[0], 3)} to ${num(c.ci95[1], 3)}), Wilcoxon ${pPhrase(c.pValue)}${holmText}, sign test ${pPhrase(c.signTestP)}, ${c.n} pairs (${c.positive} up, ${c.negative} down): ${c.verdict}${c.note ? ` (${c.note})` : ''}.`;
}
