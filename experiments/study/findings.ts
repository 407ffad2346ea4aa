// The paper's findings as testable statements over a set of trained networks (docs/method.md §9).
// Each finding names the per-network quantities it relates, the direction the paper reports, and the
// test; `evaluateFindings` turns a sweep's run records into statistics and verdicts. Pure functions of
// the records, so the report, the `study` command and the tests all compute the same numbers.
import type { RunRecord } from '../report/report.js';
import { meanOf, medianOf } from '../report/stats.js';
import { holm, signTest, spearmanRho, spearmanTest, stratifiedBootstrapCi, verdictOf, wilcoxonSignedRank, type Verdict } from './statistics.js';

export interface FindingResult {
  id: string;
  claim: string;
  /** Primary findings form the family that Holm's adjustment covers; the others are reported beside them. */
  primary: boolean;
  statistic: 'spearman' | 'wilcoxon';
  /** What x and y (or the paired difference) are. */
  measures: string;
  expectedSign: 1 | -1;
  value: number | null;
  ci95: [number | null, number | null];
  pValue: number | null;
  /** Holm-adjusted p over the primary findings (null for the others). */
  pHolm: number | null;
  n: number;
  verdict: Verdict;
  method: string;
  /** Why the statistic is undefined, when it is. */
  note?: string;
  /** Further numbers the finding reports (e.g. the sign test beside Wilcoxon). */
  extra?: Record<string, number | string | null>;
}

/** The first block output: "early layer" in the paper's dimensionality analysis. */
export const EARLY_LAYER_INDEX = 0;

const si = (r: RunRecord) => r.selectivity?.overall;

/** Early-layer dimensionality of a network: the first block output's measure, averaged over the conditions of a kind. */
export function earlyDimensionality(r: RunRecord, kind: 'clean' | 'corrupted' | 'adversarial', measure: 'components' | 'participationRatio'): number | undefined {
  const d = r.dimensionality;
  if (!d) return undefined;
  const layer = d.layers[EARLY_LAYER_INDEX];
  const values = d.conditions.filter((c) => c.kind === kind).map((c) => c.perLayer.find((l) => l.layer === layer)?.[measure]).filter((v): v is number => typeof v === 'number');
  return values.length ? meanOf(values) : undefined;
}

/** Mean rise in early-layer dimensionality that a kind of perturbation causes: dim(perturbed) − dim(clean). */
function rise(r: RunRecord, kind: 'corrupted' | 'adversarial', measure: 'components' | 'participationRatio' = 'components'): number | undefined {
  const perturbed = earlyDimensionality(r, kind, measure);
  const clean = earlyDimensionality(r, 'clean', measure);
  return perturbed === undefined || clean === undefined ? undefined : perturbed - clean;
}

type GradientKey = 'dirVarSamples' | 'dirVarUnits' | 'dirVarSamplesActive' | 'dirVarUnitsActive' | 'cvSamples' | 'cvUnits';
function gradient(r: RunRecord, key: GradientKey): number | undefined {
  const values = r.gradients?.layers.map((l) => l[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return values?.length ? meanOf(values) : undefined;
}

interface CorrelationSpec {
  id: string;
  claim: string;
  primary: boolean;
  measures: string;
  expectedSign: 1 | -1;
  x: (r: RunRecord) => number | undefined;
  y: (r: RunRecord) => number | undefined;
}

interface PairedSpec {
  id: string;
  claim: string;
  primary: boolean;
  measures: string;
  expectedSign: 1 | -1;
  difference: (r: RunRecord) => number | undefined;
}

const CORRELATIONS: CorrelationSpec[] = [
  { id: 'F1', primary: true, claim: 'The regularizer moves class selectivity in the sign of α.', measures: 'Spearman ρ(α, mean SI)', expectedSign: 1, x: (r) => r.alpha, y: si },
  { id: 'F2', primary: true, claim: 'Selectivity is negatively related to average-case (corruption) robustness.', measures: 'Spearman ρ(mean SI, mCA)', expectedSign: -1, x: si, y: (r) => r.corruptions?.mCA },
  { id: 'F3', primary: true, claim: 'Selectivity is positively related to worst-case robustness (white-box PGD L∞).', measures: 'Spearman ρ(mean SI, PGD L∞ AUC)', expectedSign: 1, x: si, y: (r) => r.attacks.linf?.auc },
  { id: 'F3-L2', primary: false, claim: 'The same for PGD L2.', measures: 'Spearman ρ(mean SI, PGD L2 AUC)', expectedSign: 1, x: si, y: (r) => r.attacks.l2?.auc },
  { id: 'F4a', primary: true, claim: 'Early-layer dimensionality is inversely related to selectivity.', measures: 'Spearman ρ(mean SI, principal components for 95% variance of the first block output, clean inputs)', expectedSign: -1, x: si, y: (r) => earlyDimensionality(r, 'clean', 'components') },
  { id: 'F4a-PR', primary: false, claim: 'The same, measured by the participation ratio.', measures: 'Spearman ρ(mean SI, participation ratio of the first block output, clean inputs)', expectedSign: -1, x: si, y: (r) => earlyDimensionality(r, 'clean', 'participationRatio') },
  { id: 'F5', primary: true, claim: 'Input–unit gradients vary more across samples in high-selectivity networks.', measures: 'Spearman ρ(mean SI, variance of normalised input gradients across samples, mean over units and layers; silent pairs as zero vectors)', expectedSign: 1, x: si, y: (r) => gradient(r, 'dirVarSamples') },
  { id: 'F5-units', primary: true, claim: 'Input–unit gradients vary more across units in high-selectivity networks.', measures: 'Spearman ρ(mean SI, variance of normalised input gradients across units, mean over samples and layers; silent pairs as zero vectors)', expectedSign: 1, x: si, y: (r) => gradient(r, 'dirVarUnits') },
  { id: 'F5-active', primary: false, claim: 'F5 over active (unit, sample) pairs only.', measures: 'Spearman ρ(mean SI, variance of normalised gradients across samples, active pairs only)', expectedSign: 1, x: si, y: (r) => gradient(r, 'dirVarSamplesActive') },
  { id: 'F5-units-active', primary: false, claim: 'F5-units over active pairs only.', measures: 'Spearman ρ(mean SI, variance of normalised gradients across units, active pairs only)', expectedSign: 1, x: si, y: (r) => gradient(r, 'dirVarUnitsActive') },
  { id: 'F5-cv', primary: false, claim: 'F5 with the coefficient of variation of gradient norms across samples.', measures: 'Spearman ρ(mean SI, CV of ‖∇‖ across samples)', expectedSign: 1, x: si, y: (r) => gradient(r, 'cvSamples') },
  { id: 'F5-units-cv', primary: false, claim: 'F5-units with the coefficient of variation of gradient norms across units.', measures: 'Spearman ρ(mean SI, CV of ‖∇‖ across units)', expectedSign: 1, x: si, y: (r) => gradient(r, 'cvUnits') },
];

const PAIRED: PairedSpec[] = [
  { id: 'F4b', primary: true, claim: 'Adversarial inputs raise early-layer dimensionality more than corrupted inputs do.', measures: 'per network: Δ_adv − Δ_corr, Δ = components(perturbed) − components(clean) of the first block output, averaged over the conditions of each kind', expectedSign: 1, difference: (r) => sub(rise(r, 'adversarial'), rise(r, 'corrupted')) },
  { id: 'F4b-PR', primary: false, claim: 'The same, measured by the participation ratio.', measures: 'per network: Δ_adv − Δ_corr of the participation ratio of the first block output', expectedSign: 1, difference: (r) => sub(rise(r, 'adversarial', 'participationRatio'), rise(r, 'corrupted', 'participationRatio')) },
];

function sub(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a - b;
}

/** Every finding in reading order: each paper finding followed by the variants reported beside it. */
export const FINDING_IDS = ['F1', 'F2', 'F3', 'F3-L2', 'F4a', 'F4a-PR', 'F4b', 'F4b-PR', 'F5', 'F5-units', 'F5-active', 'F5-units-active', 'F5-cv', 'F5-units-cv'];

const finiteOrNull = (v: number) => (Number.isFinite(v) ? v : null);

/** Why a statistic is undefined, and how many networks lacked the measurement. */
function noteOf(undefinedReason: string | undefined, usable: number, total: number): { note?: string } {
  const parts = [undefinedReason, usable < total ? `${total - usable} of ${total} networks lack the measurement` : ''].filter(Boolean);
  return parts.length ? { note: parts.join('; ') } : {};
}

export interface FindingOptions {
  bootstrap?: number;
  permutations?: number;
  seed?: number;
}

function correlationFinding(spec: CorrelationSpec, runs: RunRecord[], options: FindingOptions): FindingResult {
  const usable = runs.filter((r) => Number.isFinite(spec.x(r)) && Number.isFinite(spec.y(r)));
  const xs = usable.map((r) => spec.x(r)!);
  const ys = usable.map((r) => spec.y(r)!);
  const test = spearmanTest(xs, ys, { permutations: options.permutations, seed: options.seed });
  const boot = stratifiedBootstrapCi(usable, (r) => r.alpha, (sample) => spearmanRho(sample.map((r) => spec.x(r)!), sample.map((r) => spec.y(r)!)), { replicates: options.bootstrap, seed: (options.seed ?? 0) + 1 });
  return {
    id: spec.id, claim: spec.claim, primary: spec.primary, statistic: 'spearman', measures: spec.measures, expectedSign: spec.expectedSign,
    value: finiteOrNull(test.value), ci95: [finiteOrNull(boot.ci[0]), finiteOrNull(boot.ci[1])], pValue: finiteOrNull(test.pValue), pHolm: null, n: usable.length,
    verdict: verdictOf(test.value, test.pValue, spec.expectedSign), method: test.method,
    ...noteOf(test.undefinedReason, usable.length, runs.length),
  };
}

function pairedFinding(spec: PairedSpec, runs: RunRecord[], options: FindingOptions): FindingResult {
  const usable = runs.filter((r) => Number.isFinite(spec.difference(r)));
  const diffs = usable.map((r) => spec.difference(r)!);
  const test = wilcoxonSignedRank(diffs);
  const sign = signTest(diffs);
  const boot = stratifiedBootstrapCi(usable, (r) => r.alpha, (sample) => meanOf(sample.map((r) => spec.difference(r)!)), { replicates: options.bootstrap, seed: (options.seed ?? 0) + 2 });
  return {
    id: spec.id, claim: spec.claim, primary: spec.primary, statistic: 'wilcoxon', measures: spec.measures, expectedSign: spec.expectedSign,
    value: finiteOrNull(test.value), ci95: [finiteOrNull(boot.ci[0]), finiteOrNull(boot.ci[1])], pValue: finiteOrNull(test.pValue), pHolm: null, n: usable.length,
    verdict: verdictOf(test.value, test.pValue, spec.expectedSign), method: test.method,
    extra: { signTestP: finiteOrNull(sign.pValue), positive: diffs.filter((d) => d > 0).length, negative: diffs.filter((d) => d < 0).length, medianDifference: diffs.length ? medianOf(diffs) : null },
    ...noteOf(test.undefinedReason, usable.length, runs.length),
  };
}

/** Every finding over the given networks, primary ones Holm-adjusted as a family. */
export function evaluateFindings(runs: RunRecord[], options: FindingOptions = {}): FindingResult[] {
  const results = [...CORRELATIONS.map((s) => correlationFinding(s, runs, options)), ...PAIRED.map((s) => pairedFinding(s, runs, options))];
  results.sort((a, b) => FINDING_IDS.indexOf(a.id) - FINDING_IDS.indexOf(b.id));
  // F2 also reports how much accuracy the corruptions cost: the mean relative drop from clean.
  const drop = (r: RunRecord) => (r.corruptions && r.corruptions.clean > 0 ? (r.corruptions.clean - r.corruptions.mCA) / r.corruptions.clean : undefined);
  const withDrop = runs.filter((r) => drop(r) !== undefined && si(r) !== undefined);
  results.find((f) => f.id === 'F2')!.extra = {
    meanRelativeDrop: withDrop.length ? meanOf(withDrop.map((r) => drop(r)!)) : null,
    relativeDropSpearman: finiteOrNull(spearmanRho(withDrop.map((r) => si(r)!), withDrop.map((r) => drop(r)!))),
  };
  const primary = results.filter((f) => f.primary);
  holm(primary.map((f) => f.pValue ?? NaN)).forEach((p, i) => (primary[i].pHolm = finiteOrNull(p)));
  return results;
}
