// The study report: one self-contained HTML page (inline SVG figures) built from a sweep's run
// directories. Each figure's caption states what the paper found and whether this sweep agrees.
// Platform-neutral: runs arrive as parsed records (experiments/report/collect.ts reads them).
import { boxChart, escapeXml, lineChart, scatterChart, type Series } from './svg.js';
import { EARLY_LAYER_INDEX, evaluateFindings, type FindingResult } from '../study/findings.js';
import { groupBy, meanOf, stdOf } from './stats.js';

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
  /** Active-only variances and the silent fraction are absent from results written before they existed; NaN is written as null. */
  layers: { layer: string; cvSamples: number | null; cvUnits: number | null; dirVarSamples: number; dirVarUnits: number; dirVarSamplesActive?: number | null; dirVarUnitsActive?: number | null; silentFraction?: number }[];
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
  /** Benchmark corruptions the run trained on (--augment-corruptions); its corruption results are marked. */
  trainedOnCorruptions?: string[];
}

/**
 * The footnote (with its † mark) for corruption figures that include networks trained on benchmark
 * corruptions; '' when none did.
 */
export function trainedOnFootnote(runs: RunRecord[]): string {
  const seen = runs.filter((r) => r.trainedOnCorruptions?.length);
  if (!seen.length) return '';
  const names = [...new Set(seen.flatMap((r) => r.trainedOnCorruptions!))].sort();
  return `† ${seen.length} of ${runs.length} networks (${seen.map((r) => r.name).join(', ')}) trained on benchmark corruptions (${names.join(', ')}): for them those corruptions are not held out, and their means include them.`;
}

export interface Figure {
  id: string;
  title: string;
  svg: string;
  caption: string;
  /** The finding this figure shows, when it shows one. */
  finding?: FindingResult;
  /** true / false when the finding's verdict is agrees / disagrees; null otherwise. */
  agrees: boolean | null;
}

const fmt = (v: number | null | undefined, digits = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');
const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '–');

/** p-values as a reader expects them: two significant digits, or "< 0.0001". */
export function formatP(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return '–';
  return p < 1e-4 ? '< 0.0001' : p.toPrecision(2);
}

/** "p = 0.40", but "p < 0.0001" (never "p = < 0.0001"); "p = –" when there is none. */
export function pPhrase(p: number | null, name = 'p'): string {
  const text = formatP(p);
  return text.startsWith('<') ? `${name} ${text}` : `${name} = ${text}`;
}

/** One sentence stating a finding's statistic, interval, p-value, n and verdict. */
export function findingSentence(f: FindingResult): string {
  const stat = f.statistic === 'spearman' ? `ρ = ${fmt(f.value, 2)}` : `mean paired difference ${fmt(f.value, 2)}`;
  const holmText = f.pHolm === null ? '' : `, Holm-adjusted ${pPhrase(f.pHolm)}`;
  return `${f.id}: ${stat} (95% CI ${fmt(f.ci95[0], 2)} to ${fmt(f.ci95[1], 2)}), ${pPhrase(f.pValue)}${holmText}, n = ${f.n} networks: ${f.verdict}${f.note ? ` (${f.note})` : ''}.`;
}

/** Mean and standard deviation over seeds per α of a per-run value: [α, mean, sd] points. */
export function perAlpha(runs: RunRecord[], value: (r: RunRecord) => number | null | undefined): [number, number, number][] {
  return groupBy(runs, (r) => r.alpha, (r) => value(r) ?? undefined).map(([alpha, vs]) => [alpha, meanOf(vs), stdOf(vs)]);
}

const alphaName = (a: number) => `α = ${a}`;
const SEEDS_NOTE = 'Points: mean over seeds; bars: ± one standard deviation.';

export function buildFigures(runs: RunRecord[], findings: FindingResult[]): Figure[] {
  const figures: Figure[] = [];
  const byId = new Map(findings.map((f) => [f.id, f]));
  const add = (figure: Omit<Figure, 'agrees' | 'finding'>, findingId?: string) => {
    const finding = findingId ? byId.get(findingId) : undefined;
    const agrees = finding?.verdict === 'agrees' ? true : finding?.verdict === 'disagrees' ? false : null;
    figures.push({ ...figure, caption: finding ? `${figure.caption} ${findingSentence(finding)}` : figure.caption, finding, agrees });
  };
  const withSi = runs.filter((r) => r.selectivity);
  const si = (r: RunRecord) => r.selectivity?.overall;

  if (withSi.length) {
    add({
      id: 'selectivity-vs-alpha',
      title: 'Class selectivity and test accuracy vs α',
      svg: lineChart({
        title: 'Mean class selectivity vs α', xLabel: 'α', yLabel: 'mean SI (test set)', xScale: 'symlog',
        subtitle: `test accuracy per α: ${perAlpha(runs, (r) => r.testAccuracy).map(([a, m]) => `${a}: ${pct(m)}`).join(', ')}`,
        series: [{ name: 'mean SI', points: perAlpha(withSi, si) }],
      }),
      caption: `The regularizer (loss = CE − α·SI) should raise selectivity for α > 0 and lower it for α < 0 (Leavitt & Morcos, Selectivity considered harmful). ${SEEDS_NOTE}`,
    }, 'F1');
  }

  const withC = runs.filter((r) => r.corruptions);
  if (withC.length) {
    const footnote = trainedOnFootnote(withC);
    const mark = footnote ? ' †' : '';
    const alphas = [...new Set(withC.map((r) => r.alpha))].sort((a, b) => a - b);
    const at = (r: RunRecord, s: number) => (s === 0 ? r.corruptions!.clean : r.corruptions!.meanPerSeverity[s - 1]);
    const series: Series[] = alphas.map((alpha) => {
      const group = withC.filter((r) => r.alpha === alpha);
      const points = [0, 1, 2, 3, 4, 5]
        .map((s): [number, number[]] => [s, group.map((r) => at(r, s)).filter((v): v is number => typeof v === 'number')])
        .filter(([, vs]) => vs.length > 0)
        .map(([s, vs]): [number, number, number] => [s, meanOf(vs), stdOf(vs)]);
      return { name: alphaName(alpha), points };
    });
    add({
      id: 'corruption-severity',
      title: `Accuracy vs corruption severity per α${mark}`,
      svg: lineChart({ title: 'Mean accuracy over corruptions vs severity', xLabel: 'severity (0 = clean)', yLabel: 'accuracy', series, xTicks: [0, 1, 2, 3, 4, 5] }),
      caption: `Leavitt & Morcos (2020): networks with lower selectivity (α < 0) keep more accuracy as severity grows; higher selectivity (α > 0) loses more. ${SEEDS_NOTE}${footnote && ` ${footnote}`}`,
    });
    add({
      id: 'mca-vs-alpha',
      title: `Mean corruption accuracy vs α${mark}`,
      svg: lineChart({ title: 'Mean corruption accuracy (benchmark corruptions) vs α', xLabel: 'α', yLabel: 'accuracy', xScale: 'symlog', series: [{ name: 'mCA', points: perAlpha(withC, (r) => r.corruptions!.mCA) }, { name: 'clean accuracy', dashed: true, points: perAlpha(withC, (r) => r.corruptions!.clean) }] }),
      caption: `Paper: lower selectivity → higher corruption accuracy; higher selectivity → lower. ${SEEDS_NOTE}${footnote && ` ${footnote}`}`,
    });
    const both = withC.filter((r) => r.selectivity);
    if (both.length) {
      const drop = byId.get('F2')?.extra?.meanRelativeDrop;
      add({
        id: 'si-vs-mca',
        title: `Selectivity vs corruption robustness${mark}`,
        svg: scatterChart({ title: 'Class selectivity vs mean corruption accuracy', subtitle: `one point per network; mean relative drop from clean accuracy ${typeof drop === 'number' ? pct(drop) : '–'}`, xLabel: 'mean SI', yLabel: 'mCA', trend: true, series: groupSeries(both, (r) => [r.selectivity!.overall, r.corruptions!.mCA]) }),
        caption: `Paper: selectivity and average-case (corruption) robustness are negatively related.${footnote && ` ${footnote}`}`,
      }, 'F2');
    }
  }

  for (const norm of ['linf', 'l2']) {
    const withA = runs.filter((r) => r.attacks[norm]);
    if (!withA.length) continue;
    const alphas = [...new Set(withA.map((r) => r.alpha))].sort((a, b) => a - b);
    const eps = withA[0].attacks[norm].eps;
    const series: Series[] = alphas.map((alpha) => {
      const group = withA.filter((r) => r.alpha === alpha);
      return { name: alphaName(alpha), points: eps.map((e, i): [number, number, number] => { const vs = group.map((r) => r.attacks[norm].accuracy[i]); return [e, meanOf(vs), stdOf(vs)]; }) };
    });
    const label = norm === 'linf' ? 'L∞' : 'L2';
    add({
      id: `attack-${norm}`,
      title: `Accuracy vs ε (PGD ${label}) per α`,
      svg: lineChart({ title: `PGD ${label}: accuracy vs ε`, xLabel: 'ε', yLabel: 'accuracy', series }),
      caption: `Leavitt & Morcos (2020): higher selectivity (α > 0) holds more accuracy under white-box attacks; lower selectivity falls faster. ${SEEDS_NOTE}`,
    });
    const both = withA.filter((r) => r.selectivity);
    if (both.length) {
      add({
        id: `si-vs-auc-${norm}`,
        title: `Selectivity vs worst-case robustness (PGD ${label})`,
        svg: scatterChart({ title: `Class selectivity vs PGD ${label} AUC`, subtitle: 'one point per network', xLabel: 'mean SI', yLabel: 'area under accuracy-vs-ε (normalised)', trend: true, series: groupSeries(both, (r) => [r.selectivity!.overall, r.attacks[norm].auc]) }),
        caption: 'Paper: selectivity and worst-case (adversarial) robustness are positively related.',
      }, norm === 'linf' ? 'F3' : 'F3-L2');
    }
  }

  const withD = runs.filter((r) => r.dimensionality);
  if (withD.length) {
    const layers = withD[0].dimensionality!.layers;
    const early = layers[EARLY_LAYER_INDEX];
    const dimOf = (r: RunRecord, kind: string, layer = early) => {
      const conds = r.dimensionality!.conditions.filter((c) => c.kind === kind);
      return meanOf(conds.map((c) => c.perLayer.find((l) => l.layer === layer)?.components ?? NaN).filter(Number.isFinite));
    };
    const kinds = ['clean', 'corrupted', 'adversarial'] as const;
    add({
      id: 'dimensionality-vs-alpha',
      title: `Dimensionality of ${early} vs α`,
      svg: lineChart({
        title: `Components for 95% variance of ${early} vs α`, xLabel: 'α', yLabel: 'principal components (95% variance)', xScale: 'symlog',
        series: kinds.map((k) => ({ name: k, points: perAlpha(withD, (r) => dimOf(r, k)).filter(([, m]) => Number.isFinite(m)) })).filter((s) => s.points.length),
      }),
      caption: `Paper: early-layer dimensionality is inversely related to selectivity. ${SEEDS_NOTE}`,
    }, 'F4a');
    add({
      id: 'dimensionality-per-layer',
      title: 'Dimensionality per layer per condition',
      svg: lineChart({
        title: 'Components for 95% variance per layer (mean over networks)', xLabel: 'block output', yLabel: 'principal components', xTicks: layers.map((_, i) => i + 1), xTickFormat: (v) => layers[v - 1] ?? '',
        series: kinds.map((k) => ({ name: k, points: layers.map((l, i): [number, number, number] => { const vs = withD.map((r) => dimOf(r, k, l)).filter(Number.isFinite); return [i + 1, meanOf(vs), stdOf(vs)]; }).filter((p) => Number.isFinite(p[1])) })).filter((s) => s.points.length),
      }),
      caption: `Paper: adversarial perturbations raise early-layer dimensionality more than corruptions do (tested per network on ${early}). Bars: ± one standard deviation over networks.`,
    }, 'F4b');
  }

  const withG = runs.filter((r) => r.gradients);
  if (withG.length) {
    const overLayers = (key: 'dirVarSamples' | 'dirVarUnits' | 'dirVarSamplesActive' | 'dirVarUnitsActive' | 'silentFraction') => (r: RunRecord) => {
      const vs = r.gradients!.layers.map((l) => l[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      return vs.length ? meanOf(vs) : undefined;
    };
    add({
      id: 'gradient-variability',
      title: 'Input-gradient variability vs α',
      svg: lineChart({
        title: 'Variance of normalised input–unit gradients vs α (mean over layers)', xLabel: 'α', yLabel: 'variance', xScale: 'symlog',
        series: [
          { name: 'across samples', points: perAlpha(withG, overLayers('dirVarSamples')) },
          { name: 'across units', points: perAlpha(withG, overLayers('dirVarUnits')) },
          { name: 'across samples, active pairs', dashed: true, points: perAlpha(withG, overLayers('dirVarSamplesActive')) },
          { name: 'across units, active pairs', dashed: true, points: perAlpha(withG, overLayers('dirVarUnitsActive')) },
          { name: 'silent fraction', dashed: true, points: perAlpha(withG, overLayers('silentFraction')) },
        ].filter((s) => s.points.length),
      }),
      caption: `Paper: input–unit gradients vary more across samples and units in high-selectivity networks. ${SEEDS_NOTE} ${byId.get('F5-units') ? findingSentence(byId.get('F5-units')!) : ''}`,
    }, 'F5');
  }

  if (withSi.length) {
    add({
      id: 'selectivity-per-layer',
      title: 'Selectivity per layer',
      svg: boxChart({ title: 'Mean SI per layer across runs', xLabel: 'block output', yLabel: 'mean SI', groups: withSi[0].selectivity!.layerNames.map((name, i) => ({ name, values: withSi.map((r) => r.selectivity!.layers[i]) })), width: 760 }),
      caption: 'Distribution over runs of each block output\'s mean selectivity.',
    });
  }
  return figures;
}

/** The verdict table: every finding with its statistic, interval, p-values, n and verdict. */
export function findingsTable(findings: FindingResult[]): string {
  const head = ['finding', 'claim', 'statistic', 'value', '95% CI', 'p', 'p (Holm)', 'n', 'verdict'];
  const rows = findings.map((f) => `<tr class="${f.primary ? 'primary' : 'secondary'}"><td>${escapeXml(f.id)}</td><td>${escapeXml(f.claim)}<br><small>${escapeXml(f.measures)}${f.note ? `; ${escapeXml(f.note)}` : ''}</small></td><td>${f.statistic}</td><td>${fmt(f.value, 3)}</td><td>${fmt(f.ci95[0], 2)} to ${fmt(f.ci95[1], 2)}</td><td>${formatP(f.pValue)}</td><td>${formatP(f.pHolm)}</td><td>${f.n}</td><td class="verdict ${f.verdict}">${f.verdict}</td></tr>`);
  return `<table class="findings"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
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
  /** Further sections placed after the figures (e.g. the robust-training comparison, experiments/report/regimes.ts). */
  sections?: { id: string; title: string; html: string }[];
}

export function buildReport(runs: RunRecord[], meta: ReportMeta, findings: FindingResult[] = evaluateFindings(runs)): { html: string; figures: Figure[]; findings: FindingResult[] } {
  if (runs.length === 0) throw new Error(`${meta.source}: no finished runs to report on`);
  const figures = buildFigures(runs, findings);
  const missing = runs.filter((r) => r.missing.length);
  const alphas = new Set(runs.map((r) => r.alpha)).size;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(meta.title)}</title>
<style>
body{font-family:Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em}figure{margin:1.5em 0}figcaption{color:#444;max-width:760px}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3}td:first-child,td:last-child{text-align:left}
table.findings td:nth-child(2){text-align:left;max-width:360px}tr.secondary{color:#555}
.verdict.agrees{background:#e3f4e3}.verdict.disagrees{background:#fbe3e3}.verdict.inconclusive{background:#f4f4f4}.verdict.undefined{background:#fff6e0}.verdict.raises{background:#e3ecf8}.verdict.lowers{background:#f8ebe0}
.warn{background:#fff6e0;border:1px solid #f0c36d;padding:.6em 1em}
</style></head><body>
<h1>${escapeXml(meta.title)}</h1>
<p>${runs.length} finished networks (${alphas} values of α) from <code>${escapeXml(meta.source)}</code>, generated ${escapeXml(meta.generated)}.</p>
<h2 id="findings">Findings</h2>
${findingsTable(findings)}
<p><small>Verdict: <b>agrees</b> = the paper's sign with p &lt; 0.05; <b>disagrees</b> = the opposite sign with p &lt; 0.05; <b>inconclusive</b> otherwise; <b>undefined</b> when the statistic cannot be computed. ρ: Spearman over networks, p from a permutation test; paired differences: exact Wilcoxon signed-rank test. 95% CI: percentile bootstrap resampling seeds within each α. Holm's adjustment covers the primary findings (darker rows) as one family.</small></p>
${meta.notes?.length ? `<ul>${meta.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>` : ''}
${missing.length ? `<p class="warn">${missing.length} run(s) lack some results; the figures use what exists: ${missing.map((r) => `${escapeXml(r.name)} (no ${escapeXml(r.missing.join(', '))})`).join('; ')}.</p>` : ''}
${figures.map((f) => `<h2 id="${f.id}">${escapeXml(f.title)}</h2><figure>${f.svg.replace(/^<\?xml[^>]*>/, '')}<figcaption>${escapeXml(f.caption)}</figcaption></figure>`).join('\n')}
${(meta.sections ?? []).map((s) => `<h2 id="${escapeXml(s.id)}">${escapeXml(s.title)}</h2>\n${s.html}`).join('\n')}
<h2>Every run</h2>
${runTable(runs)}
</body></html>
`;
  return { html, figures, findings };
}
