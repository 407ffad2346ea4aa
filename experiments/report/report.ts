// The study report: one self-contained HTML page (inline SVG figures) built from a sweep's run
// directories. Each figure's caption states what the paper found and whether this sweep agrees.
// Platform-neutral: runs arrive as parsed records (experiments/report/collect.ts reads them).
import { boxChart, escapeXml, lineChart, scatterChart, type Series } from './svg.js';
import { groupBy, meanOf, pearson, spearman, stdOf } from './stats.js';

export interface CorruptionSummary {
  clean: number;
  /** Accuracy per corruption per severity (1..5). */
  perCorruption: Record<string, number[]>;
  /** null where a severity was not evaluated. */
  meanPerSeverity: (number | null)[];
  /** Mean corruption accuracy over the 15 benchmark corruptions. */
  mCA: number;
}

export interface AttackSummary {
  norm: string;
  eps: number[];
  accuracy: number[];
  /** Area under accuracy-vs-ε, normalised by the ε range (a number in [0, 1]). */
  auc: number;
}

export interface LayerDimensionality {
  layer: string;
  components: number;
  participationRatio: number;
}

export interface DimensionalitySummary {
  layers: string[];
  conditions: { name: string; kind: 'clean' | 'corrupted' | 'adversarial'; perLayer: LayerDimensionality[]; change?: LayerDimensionality[] }[];
}

export interface GradientSummary {
  layers: { layer: string; cvSamples: number; cvUnits: number; dirVarSamples: number; dirVarUnits: number }[];
}

export interface RunRecord {
  name: string;
  alpha: number;
  seed: number;
  testAccuracy: number;
  testLoss?: number;
  selectivity?: { overall: number; layers: number[]; layerNames: string[] };
  corruptions?: CorruptionSummary;
  attacks: Record<string, AttackSummary>;
  dimensionality?: DimensionalitySummary;
  gradients?: GradientSummary;
  /** Result kinds this run lacks (reported, the rest still rendered). */
  missing: string[];
}

export interface Figure {
  id: string;
  title: string;
  svg: string;
  caption: string;
  /** true / false when the figure tests a finding of the paper; null when there is too little data. */
  agrees: boolean | null;
}

/**
 * Fewest points a rank correlation needs before the report calls a direction: with 3 points a
 * Spearman ρ of ±0.5 is one swap, which says nothing.
 */
export const MIN_POINTS_FOR_VERDICT = 4;

/** The verdict of a correlation whose expected sign is `sign`, or null with too few points. */
function signVerdict(points: number, rho: number, sign: 1 | -1): boolean | null {
  return points >= MIN_POINTS_FOR_VERDICT && Number.isFinite(rho) ? Math.sign(rho) === sign : null;
}

const fmt = (v: number, digits = 3) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '–');

/** Mean over seeds per α of a per-run value. */
function perAlpha(runs: RunRecord[], value: (r: RunRecord) => number | undefined): [number, number, number][] {
  return groupBy(runs, (r) => r.alpha, value).map(([alpha, vs]) => [alpha, meanOf(vs), stdOf(vs)]);
}

function correlationText(xs: number[], ys: number[]): { r: number; rho: number; text: string } {
  const r = pearson(xs, ys);
  const rho = spearman(xs, ys);
  return { r, rho, text: `Pearson r = ${fmt(r, 2)}, Spearman ρ = ${fmt(rho, 2)} over ${xs.length} networks` };
}

function verdict(agrees: boolean | null): string {
  return agrees === null ? `Too few points to tell (a verdict needs at least ${MIN_POINTS_FOR_VERDICT}).` : agrees ? 'This sweep agrees.' : 'This sweep does not agree.';
}

const alphaName = (a: number) => `α = ${a}`;

export function buildFigures(runs: RunRecord[]): Figure[] {
  const figures: Figure[] = [];
  const withSi = runs.filter((r) => r.selectivity);
  const si = (r: RunRecord) => r.selectivity?.overall;

  // 1. Selectivity and accuracy vs α: the regularizer works as intended.
  if (withSi.length) {
    const siByAlpha = perAlpha(withSi, si);
    const rho = spearman(siByAlpha.map((p) => p[0]), siByAlpha.map((p) => p[1]));
    const agrees = signVerdict(siByAlpha.length, rho, 1);
    figures.push({
      id: 'selectivity-vs-alpha',
      title: 'Class selectivity and test accuracy vs α',
      svg: lineChart({
        title: 'Mean class selectivity vs α', xLabel: 'α', yLabel: 'mean SI (test set)', xScale: 'symlog',
        subtitle: `Spearman ρ(α, SI) = ${fmt(rho, 2)}; test accuracy per α: ${perAlpha(runs, (r) => r.testAccuracy).map(([a, m]) => `${a}: ${pct(m)}`).join(', ')}`,
        series: [{ name: 'mean SI', points: siByAlpha.map(([a, m]) => [a, m]) }],
      }),
      caption: `The regularizer (loss = CE − α·SI) should raise selectivity for α > 0 and lower it for α < 0 (Leavitt & Morcos, Selectivity considered harmful). ${verdict(agrees)}`,
      agrees,
    });
  }

  // 2–3, 5. Corruptions.
  const withC = runs.filter((r) => r.corruptions);
  if (withC.length) {
    const alphas = [...new Set(withC.map((r) => r.alpha))].sort((a, b) => a - b);
    const series: Series[] = alphas.map((alpha) => {
      const group = withC.filter((r) => r.alpha === alpha);
      const at = (r: RunRecord, s: number) => (s === 0 ? r.corruptions!.clean : r.corruptions!.meanPerSeverity[s - 1]);
      const points = [0, 1, 2, 3, 4, 5]
        .map((s): [number, number[]] => [s, group.map((r) => at(r, s)).filter((v): v is number => typeof v === 'number')])
        .filter(([, vs]) => vs.length > 0)
        .map(([s, vs]): [number, number] => [s, meanOf(vs)]);
      return { name: alphaName(alpha), points };
    });
    const mca = perAlpha(withC, (r) => r.corruptions!.mCA);
    const low = mca.filter(([a]) => a < 0).map((p) => p[1]);
    const high = mca.filter(([a]) => a > 0).map((p) => p[1]);
    const zero = mca.filter(([a]) => a === 0).map((p) => p[1]);
    figures.push({
      id: 'corruption-severity',
      title: 'Accuracy vs corruption severity per α',
      svg: lineChart({ title: 'Mean accuracy over corruptions vs severity', xLabel: 'severity (0 = clean)', yLabel: 'accuracy', series, xTicks: [0, 1, 2, 3, 4, 5] }),
      caption: 'Leavitt & Morcos (2020): networks with lower selectivity (α < 0) keep more accuracy as severity grows; higher selectivity (α > 0) loses more. See the mCA figure for the test.',
      agrees: null,
    });
    const rhoMca = spearman(mca.map((p) => p[0]), mca.map((p) => p[1]));
    const agreesMca = signVerdict(mca.length, rhoMca, -1);
    figures.push({
      id: 'mca-vs-alpha',
      title: 'Mean corruption accuracy vs α',
      svg: lineChart({ title: 'Mean corruption accuracy (15 benchmark corruptions) vs α', xLabel: 'α', yLabel: 'mCA', xScale: 'symlog', series: [{ name: 'mCA', points: mca.map(([a, m]) => [a, m]) }, { name: 'clean accuracy', dashed: true, points: perAlpha(withC, (r) => r.corruptions!.clean).map(([a, m]) => [a, m]) }] }),
      caption: `Paper: lower selectivity → higher corruption accuracy; higher selectivity → lower. Mean mCA: α<0 ${pct(meanOf(low))}, α=0 ${pct(meanOf(zero))}, α>0 ${pct(meanOf(high))}; Spearman ρ(α, mCA) = ${fmt(rhoMca, 2)}. ${verdict(agreesMca)}`,
      agrees: agreesMca,
    });
    const both = withC.filter((r) => r.selectivity);
    if (both.length) {
      const xs = both.map((r) => r.selectivity!.overall);
      const ys = both.map((r) => r.corruptions!.mCA);
      const c = correlationText(xs, ys);
      const agrees = signVerdict(both.length, c.rho, -1);
      figures.push({
        id: 'si-vs-mca',
        title: 'Selectivity vs corruption robustness',
        svg: scatterChart({ title: 'Class selectivity vs mean corruption accuracy', subtitle: c.text, xLabel: 'mean SI', yLabel: 'mCA', trend: true, series: groupSeries(both, (r) => [r.selectivity!.overall, r.corruptions!.mCA]) }),
        caption: `Paper: selectivity and average-case (corruption) robustness are negatively correlated. ${c.text}. ${verdict(agrees)}`,
        agrees,
      });
    }
  }

  // 4, 6. Attacks.
  for (const norm of ['linf', 'l2']) {
    const withA = runs.filter((r) => r.attacks[norm]);
    if (!withA.length) continue;
    const alphas = [...new Set(withA.map((r) => r.alpha))].sort((a, b) => a - b);
    const eps = withA[0].attacks[norm].eps;
    const series: Series[] = alphas.map((alpha) => {
      const group = withA.filter((r) => r.alpha === alpha);
      return { name: alphaName(alpha), points: eps.map((e, i): [number, number] => [e, meanOf(group.map((r) => r.attacks[norm].accuracy[i]))]) };
    });
    const label = norm === 'linf' ? 'L∞' : 'L2';
    figures.push({
      id: `attack-${norm}`,
      title: `Accuracy vs ε (PGD ${label}) per α`,
      svg: lineChart({ title: `PGD ${label}: accuracy vs ε`, xLabel: 'ε', yLabel: 'accuracy', series }),
      caption: 'Leavitt & Morcos (2020): higher selectivity (α > 0) holds more accuracy under white-box attacks; lower selectivity falls faster. See the AUC scatter for the test.',
      agrees: null,
    });
    const both = withA.filter((r) => r.selectivity);
    if (both.length) {
      const xs = both.map((r) => r.selectivity!.overall);
      const ys = both.map((r) => r.attacks[norm].auc);
      const c = correlationText(xs, ys);
      const agrees = signVerdict(both.length, c.rho, 1);
      figures.push({
        id: `si-vs-auc-${norm}`,
        title: `Selectivity vs worst-case robustness (PGD ${label})`,
        svg: scatterChart({ title: `Class selectivity vs PGD ${label} AUC`, subtitle: c.text, xLabel: 'mean SI', yLabel: 'area under accuracy-vs-ε (normalised)', trend: true, series: groupSeries(both, (r) => [r.selectivity!.overall, r.attacks[norm].auc]) }),
        caption: `Paper: selectivity and worst-case (adversarial) robustness are positively correlated. ${c.text}. ${verdict(agrees)}`,
        agrees,
      });
    }
  }

  // 7. Dimensionality.
  const withD = runs.filter((r) => r.dimensionality);
  if (withD.length) {
    const layers = withD[0].dimensionality!.layers;
    const early = layers[0];
    const dimOf = (r: RunRecord, kind: string, layer = early) => {
      const conds = r.dimensionality!.conditions.filter((c) => c.kind === kind);
      return meanOf(conds.map((c) => c.perLayer.find((l) => l.layer === layer)?.components ?? NaN).filter(Number.isFinite));
    };
    const kinds = ['clean', 'corrupted', 'adversarial'] as const;
    figures.push({
      id: 'dimensionality-vs-alpha',
      title: `Dimensionality of ${early} vs α`,
      svg: lineChart({
        title: `Components for 95% variance of ${early} vs α`, xLabel: 'α', yLabel: 'principal components (95% variance)', xScale: 'symlog',
        series: kinds.map((k) => ({ name: k, points: perAlpha(withD, (r) => dimOf(r, k)).filter(([, m]) => Number.isFinite(m)).map(([a, m]): [number, number] => [a, m]) })).filter((s) => s.points.length),
      }),
      caption: (() => {
        const both = withD.filter((r) => r.selectivity);
        const c = correlationText(both.map((r) => r.selectivity!.overall), both.map((r) => dimOf(r, 'clean')));
        return `Paper: early-layer dimensionality is inversely related to selectivity. ${c.text} (SI vs clean dimensionality of ${early}). ${verdict(signVerdict(both.length, c.rho, -1))}`;
      })(),
      agrees: (() => {
        const both = withD.filter((r) => r.selectivity);
        const rho = spearman(both.map((r) => r.selectivity!.overall), both.map((r) => dimOf(r, 'clean')));
        return signVerdict(both.length, rho, -1);
      })(),
    });
    const increase = (kind: string) => meanOf(withD.map((r) => dimOf(r, kind) - dimOf(r, 'clean')).filter(Number.isFinite));
    const adv = increase('adversarial');
    const corr = increase('corrupted');
    const agrees = Number.isFinite(adv) && Number.isFinite(corr) ? adv > corr : null;
    figures.push({
      id: 'dimensionality-per-layer',
      title: 'Dimensionality per layer per condition',
      svg: lineChart({
        title: 'Components for 95% variance per layer (mean over runs)', xLabel: 'block output', yLabel: 'principal components', xTicks: layers.map((_, i) => i + 1), xTickFormat: (v) => layers[v - 1] ?? '',
        series: kinds.map((k) => ({ name: k, points: layers.map((l, i): [number, number] => [i + 1, meanOf(withD.map((r) => dimOf(r, k, l)).filter(Number.isFinite))]).filter((p) => Number.isFinite(p[1])) })).filter((s) => s.points.length),
      }),
      caption: `Paper: adversarial perturbations raise early-layer dimensionality more than corruptions do. Mean increase in ${early}: adversarial ${fmt(adv, 1)}, corrupted ${fmt(corr, 1)} components. ${verdict(agrees)}`,
      agrees,
    });
  }

  // 8. Gradient variability.
  const withG = runs.filter((r) => r.gradients);
  if (withG.length) {
    const variability = (r: RunRecord) => meanOf(r.gradients!.layers.map((l) => l.cvSamples));
    const both = withG.filter((r) => r.selectivity);
    const c = correlationText(both.map((r) => r.selectivity!.overall), both.map(variability));
    const agrees = signVerdict(both.length, c.rho, 1);
    figures.push({
      id: 'gradient-variability',
      title: 'Input-gradient variability vs α',
      svg: lineChart({
        title: 'Input–unit gradient variability vs α (mean over layers)', xLabel: 'α', yLabel: 'variability', xScale: 'symlog', subtitle: c.text,
        series: [
          { name: 'CV of ‖∇‖ across samples', points: perAlpha(withG, variability).map(([a, m]) => [a, m]) },
          { name: 'CV of ‖∇‖ across units', points: perAlpha(withG, (r) => meanOf(r.gradients!.layers.map((l) => l.cvUnits))).map(([a, m]) => [a, m]) },
          { name: 'direction variance across samples', points: perAlpha(withG, (r) => meanOf(r.gradients!.layers.map((l) => l.dirVarSamples))).map(([a, m]) => [a, m]) },
          { name: 'direction variance across units', points: perAlpha(withG, (r) => meanOf(r.gradients!.layers.map((l) => l.dirVarUnits))).map(([a, m]) => [a, m]) },
        ],
      }),
      caption: `Paper: input–unit gradients vary more across samples and units in high-selectivity networks. ${c.text} (SI vs CV across samples). ${verdict(agrees)}`,
      agrees,
    });
  }

  if (withSi.length) {
    figures.push({
      id: 'selectivity-per-layer',
      title: 'Selectivity per layer',
      svg: boxChart({ title: 'Mean SI per layer across runs', xLabel: 'block output', yLabel: 'mean SI', groups: withSi[0].selectivity!.layerNames.map((name, i) => ({ name, values: withSi.map((r) => r.selectivity!.layers[i]) })), width: 760 }),
      caption: 'Distribution over runs of each block output\'s mean selectivity.',
      agrees: null,
    });
  }
  return figures;
}

function groupSeries(runs: RunRecord[], point: (r: RunRecord) => [number, number]): Series[] {
  const alphas = [...new Set(runs.map((r) => r.alpha))].sort((a, b) => a - b);
  return alphas.map((alpha) => ({ name: alphaName(alpha), points: runs.filter((r) => r.alpha === alpha).map(point) }));
}

function runTable(runs: RunRecord[]): string {
  const head = ['run', 'α', 'seed', 'test acc', 'mean SI', 'clean (corr.)', 'mCA', 'PGD L∞ AUC', 'PGD L2 AUC', 'missing'];
  const rows = [...runs].sort((a, b) => a.alpha - b.alpha || a.seed - b.seed).map((r) => [
    r.name, String(r.alpha), String(r.seed), pct(r.testAccuracy), r.selectivity ? fmt(r.selectivity.overall) : '–',
    r.corruptions ? pct(r.corruptions.clean) : '–', r.corruptions ? pct(r.corruptions.mCA) : '–',
    r.attacks.linf ? fmt(r.attacks.linf.auc) : '–', r.attacks.l2 ? fmt(r.attacks.l2.auc) : '–', r.missing.join(', '),
  ]);
  return `<table><thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

export interface ReportMeta {
  title: string;
  source: string;
  generated: string;
  notes?: string[];
}

export function buildReport(runs: RunRecord[], meta: ReportMeta): { html: string; figures: Figure[] } {
  if (runs.length === 0) throw new Error(`${meta.source}: no finished runs to report on`);
  const figures = buildFigures(runs);
  const missing = runs.filter((r) => r.missing.length);
  const summary = figures.filter((f) => f.agrees !== null).map((f) => `<li>${escapeXml(f.title)}: <b>${f.agrees ? 'agrees' : 'does not agree'}</b> with the paper</li>`).join('');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(meta.title)}</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em}figure{margin:1.5em 0}figcaption{color:#444;max-width:760px}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}td:first-child,td:last-child{text-align:left}
.warn{background:#fff6e0;border:1px solid #f0c36d;padding:.6em 1em}
</style></head><body>
<h1>${escapeXml(meta.title)}</h1>
<p>${runs.length} finished runs from <code>${escapeXml(meta.source)}</code>, generated ${escapeXml(meta.generated)}.</p>
${meta.notes?.length ? `<ul>${meta.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>` : ''}
${summary ? `<h2>Summary</h2><ul>${summary}</ul>` : ''}
${missing.length ? `<p class="warn">${missing.length} run(s) lack some results; the figures use what exists: ${missing.map((r) => `${escapeXml(r.name)} (no ${escapeXml(r.missing.join(', '))})`).join('; ')}.</p>` : ''}
${figures.map((f) => `<h2 id="${f.id}">${escapeXml(f.title)}</h2><figure>${f.svg.replace(/^<\?xml[^>]*>/, '')}<figcaption>${escapeXml(f.caption)}</figcaption></figure>`).join('\n')}
<h2>Every run</h2>
${runTable(runs)}
</body></html>
`;
  return { html, figures };
}
