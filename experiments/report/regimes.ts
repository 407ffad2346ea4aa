// The report's section "Robust training vs selectivity": the verdict table of every robust regime
// against the standard one (experiments/study/regimes.ts), mean ± sd per regime, and one figure per
// measure with a line per regime over α (bars: ± one standard deviation over seeds).
import { compareRegimes, REGIME_MEASURES, regimeSentence, STANDARD, summarizeRegimes, type RegimeComparison, type RegimeName, type RegimeRuns, type RegimeSummary } from '../study/regimes.js';
import { formatP, perAlpha } from './report.js';
import { escapeXml, lineChart } from './svg.js';

export interface RegimeSectionInput {
  groups: RegimeRuns[];
  comparisons: RegimeComparison[];
  summaries: RegimeSummary[];
  /** The `train` options each regime added (none for standard), where known. */
  trainFlags?: Partial<Record<RegimeName, Record<string, string | number>>>;
}

export interface ReportSection {
  id: string;
  title: string;
  html: string;
}

const fixed = (v: number | null, digits = 3) => (v === null ? '–' : v.toFixed(digits));
const flagsText = (flags: Record<string, string | number>) => (Object.keys(flags).length ? Object.entries(flags).map(([k, v]) => `--${k} ${v}`).join(' ') : 'no extra train options');

function verdictTable(comparisons: RegimeComparison[]): string {
  const head = ['comparison', 'question', 'mean Δ', '95% CI', 'median Δ', 'Wilcoxon p', 'p (Holm)', 'sign test p', 'pairs (up/down)', 'verdict'];
  const rows = comparisons.map((c) => `<tr class="${c.primary ? 'primary' : 'secondary'}"><td>${escapeXml(c.id)}</td><td>${escapeXml(c.question)}${c.note ? `<br><small>${escapeXml(c.note)}</small>` : ''}</td><td>${fixed(c.value)}</td><td>${fixed(c.ci95[0])} to ${fixed(c.ci95[1])}</td><td>${fixed(c.medianDifference)}</td><td>${formatP(c.pValue)}</td><td>${formatP(c.pHolm)}</td><td>${formatP(c.signTestP)}</td><td>${c.n} (${c.positive}/${c.negative})</td><td class="verdict ${c.verdict}">${c.verdict}</td></tr>`);
  return `<table class="findings"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function summaryTable(groups: RegimeRuns[], summaries: RegimeSummary[]): string {
  const head = ['regime', 'networks', ...REGIME_MEASURES.map((m) => m.label)];
  const cell = (regime: RegimeName, measure: string) => {
    const s = summaries.find((x) => x.regime === regime && x.measure === measure && x.alpha === null);
    return s && s.mean !== null ? `${s.mean.toFixed(3)}${s.sd === null ? '' : ` ± ${s.sd.toFixed(3)}`}` : '–';
  };
  const rows = groups.map((g) => `<tr><td>${escapeXml(g.regime)}</td><td>${g.runs.length}</td>${REGIME_MEASURES.map((m) => `<td>${cell(g.regime, m.id)}</td>`).join('')}</tr>`);
  return `<table><thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Per regime: the benchmark corruptions its networks saw in training (config.json's trainedOnCorruptions). */
function trainedOnOf(groups: RegimeRuns[]): Partial<Record<RegimeName, string[]>> {
  const out: Partial<Record<RegimeName, string[]>> = {};
  for (const g of groups) {
    const names = [...new Set(g.runs.flatMap((r) => r.trainedOnCorruptions ?? []))].sort();
    if (names.length) out[g.regime] = names;
  }
  return out;
}

/** "regime: corruption" for every corruption a regime trained on that the evaluation also measures (the protocol wants them unseen). */
function seenCorruptions(groups: RegimeRuns[], trainedOn: Partial<Record<RegimeName, string[]>>): string[] {
  const evaluated = new Set(groups.flatMap((g) => g.runs.flatMap((r) => Object.keys(r.corruptions?.perCorruption ?? {}))));
  return Object.entries(trainedOn).flatMap(([regime, names]) => (names ?? []).filter((n) => evaluated.has(n)).map((n) => `${regime}: ${n}`));
}

export function regimeSection(input: RegimeSectionInput): ReportSection {
  const { groups, comparisons } = input;
  const trainedOn = trainedOnOf(groups);
  const regimes = groups.map((g) => `<li><b>${escapeXml(g.regime)}</b>: ${g.runs.length} networks${input.trainFlags?.[g.regime] ? `, <code>${escapeXml(flagsText(input.trainFlags[g.regime]!))}</code>` : ''}${trainedOn[g.regime] ? `; trained on the benchmark corruptions ${escapeXml(trainedOn[g.regime]!.join(', '))}` : ''}</li>`);
  const seen = seenCorruptions(groups, trainedOn);
  const figures = REGIME_MEASURES.filter((m) => m.id !== 'accuracy').map((m) => {
    const series = groups.map((g) => ({ name: g.regime, dashed: g.regime === STANDARD, points: perAlpha(g.runs, m.value) })).filter((s) => s.points.length);
    if (!series.length) return '';
    const svg = lineChart({ title: `${m.label} per training regime vs α`, xLabel: 'α', yLabel: m.label, xScale: 'symlog', series });
    const sentences = comparisons.filter((c) => c.measure === m.id).map(regimeSentence).join(' ');
    return `<figure id="regimes-${escapeXml(m.id)}">${svg.replace(/^<\?xml[^>]*>/, '')}<figcaption>${escapeXml(`${m.what[0].toUpperCase()}${m.what.slice(1)} per regime. Points: mean over seeds; bars: ± one standard deviation. ${sentences}`)}</figcaption></figure>`;
  });
  const html = `<p>Every (α, seed) network was also trained under each robust regime, then measured exactly as above:</p>
<ul>${regimes.join('')}</ul>
${seen.length ? `<p class="warn">Trained on corruptions the evaluation measures (their accuracy is not unseen-corruption robustness): ${escapeXml(seen.join('; '))}.</p>` : ''}
${verdictTable(comparisons)}
<p><small>Each robust network is paired with the standard network of the same α and seed; Δ = robust − standard. Verdict: <b>raises</b> / <b>lowers</b> = exact two-sided Wilcoxon signed-rank p &lt; 0.05 with that sign of the mean difference; <b>inconclusive</b> otherwise; <b>undefined</b> when the test cannot be computed. The exact sign test is reported beside it. 95% CI: percentile bootstrap resampling seeds within each α. Holm's adjustment covers the primary questions (SI and early-layer PC95, darker rows) over every robust regime.</small></p>
<h3>Mean ± sd over networks</h3>
${summaryTable(groups, input.summaries)}
${figures.join('\n')}`;
  return { id: 'robust-training', title: 'Robust training vs selectivity', html };
}

/** study.json's record of the regime comparison and the report section, from every regime's networks. */
export function regimeReport(groups: RegimeRuns[], facts: Pick<RegimeSectionInput, 'trainFlags'> = {}) {
  const comparisons = compareRegimes(groups);
  const summaries = summarizeRegimes(groups);
  return {
    record: { names: groups.map((g) => g.regime), networks: Object.fromEntries(groups.map((g) => [g.regime, g.runs.length])), trainFlags: facts.trainFlags ?? {}, trainedOnCorruptions: trainedOnOf(groups), comparisons, summaries },
    section: regimeSection({ groups, comparisons, summaries, ...facts }),
  };
}
