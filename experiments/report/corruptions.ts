// Corruption-robustness results: per corruption × severity accuracies summarised as in docs/method.md §6.1
// (mean per severity, mean over all = mCA over the 15 benchmark corruptions, and over all 19; both
// also relative to clean accuracy), and rendered as CSV and an SVG line chart.
import { BENCHMARK_CORRUPTIONS, CORRUPTION_NAMES } from '../corruptions/types.js';
import { lineChart, PALETTE, type Series } from './svg.js';

/** File names in a run directory (where a sweep's `merge` finds them). */
export const CORRUPTIONS_JSON = 'corruptions.json';
export const CORRUPTIONS_CSV = 'corruptions.csv';
export const CORRUPTIONS_SVG = 'corruptions.svg';

/** Accuracy (0..1) per severity 1..5; null where a severity was not evaluated. */
export type SeverityRow = (number | null)[];

export interface CorruptionSummary {
  /** Clean test accuracy on the same test images. */
  clean: number;
  /** name → [accuracy at severity 1, …, 5]. */
  perCorruption: Record<string, SeverityRow>;
  /** Mean over the evaluated benchmark corruptions (of the 15) per severity. */
  meanPerSeverity: SeverityRow;
  /** Mean over every evaluated corruption (of the 19) per severity. */
  meanPerSeverity19: SeverityRow;
  /** Mean corruption accuracy: over every evaluated (benchmark corruption, severity) cell; null if none. */
  mCA: number | null;
  /** The same over all evaluated corruptions (benchmark and extra). */
  mCA19: number | null;
  /** Accuracies divided by clean accuracy. */
  relative: { mCA: number | null; mCA19: number | null; meanPerSeverity: SeverityRow; perCorruption: Record<string, SeverityRow> };
  /** Clean accuracy minus corrupted accuracy. */
  drop: { mCA: number | null; mCA19: number | null; meanPerSeverity: SeverityRow };
  /** Whether all 15 benchmark (all 19) corruptions were evaluated at all 5 severities. */
  complete: { mCA: boolean; mCA19: boolean };
  /**
   * The evaluated corruptions the model saw in training (config.json's trainedOnCorruptions; absent
   * in summaries written before it existed): their results are not held-out results, and the
   * means include them. Marked † in the chart and `seen_in_training` in the CSV.
   */
  trainedOn?: string[];
}

/** The footnote mark of a corruption the model saw in training. */
export const SEEN_IN_TRAINING_MARK = '†';
export const SEEN_IN_TRAINING_NOTE = 'seen in training (--augment-corruptions): not held out';

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function cells(perCorruption: Record<string, SeverityRow>, names: readonly string[], severity?: number): number[] {
  const out: number[] = [];
  for (const n of names) {
    const row = perCorruption[n];
    if (!row) continue;
    row.forEach((v, i) => {
      if (v !== null && (severity === undefined || severity === i + 1)) out.push(v);
    });
  }
  return out;
}

export function summarizeCorruptions(clean: number, perCorruption: Record<string, SeverityRow>, trainedOn: readonly string[] = []): CorruptionSummary {
  const all = CORRUPTION_NAMES.filter((n) => n in perCorruption);
  const bench = BENCHMARK_CORRUPTIONS.filter((n) => n in perCorruption);
  const perSeverity = (names: readonly string[]) => [1, 2, 3, 4, 5].map((s) => mean(cells(perCorruption, names, s)));
  const meanPerSeverity = perSeverity(bench);
  const meanPerSeverity19 = perSeverity(all);
  const mCA = mean(cells(perCorruption, bench));
  const mCA19 = mean(cells(perCorruption, all));
  const rel = (v: number | null) => (v === null || !(clean > 0) ? null : v / clean);
  const drop = (v: number | null) => (v === null ? null : clean - v);
  const full = (names: readonly string[]) => names.every((n) => perCorruption[n]?.length === 5 && perCorruption[n].every((v) => v !== null));
  return {
    clean,
    perCorruption: Object.fromEntries(all.map((n) => [n, perCorruption[n]])),
    meanPerSeverity,
    meanPerSeverity19,
    mCA,
    mCA19,
    relative: { mCA: rel(mCA), mCA19: rel(mCA19), meanPerSeverity: meanPerSeverity.map(rel), perCorruption: Object.fromEntries(all.map((n) => [n, perCorruption[n].map(rel)])) },
    drop: { mCA: drop(mCA), mCA19: drop(mCA19), meanPerSeverity: meanPerSeverity.map(drop) },
    complete: { mCA: full(BENCHMARK_CORRUPTIONS), mCA19: full(CORRUPTION_NAMES) },
    trainedOn: all.filter((n) => trainedOn.includes(n)),
  };
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '' : String(Number(v.toFixed(6))));

/**
 * One row per corruption (group benchmark/extra), then `mean_benchmark` (mean over the 15 per
 * severity; mean = mCA), `mean_all` (the 19; mCA19) and `clean`. Columns: s1..s5 accuracies, their
 * mean, mean / clean, clean − mean, and whether the model saw the corruption in training.
 */
export function corruptionsCsv(s: CorruptionSummary): string {
  const header = 'corruption,group,s1,s2,s3,s4,s5,mean,relative_to_clean,drop_from_clean,seen_in_training';
  const seen = (name: string, group: string) => (group === 'benchmark' || group === 'extra' ? String(s.trainedOn?.includes(name) ?? false) : '');
  const line = (name: string, group: string, row: SeverityRow, m: number | null) => [name, group, ...row.map(fmt), fmt(m), fmt(m === null || !(s.clean > 0) ? null : m / s.clean), fmt(m === null ? null : s.clean - m), seen(name, group)].join(',');
  const rows = Object.entries(s.perCorruption).map(([name, row]) => line(name, BENCHMARK_CORRUPTIONS.includes(name as never) ? 'benchmark' : 'extra', row, mean(row.filter((v): v is number => v !== null))));
  rows.push(line('mean_benchmark', 'mean', s.meanPerSeverity, s.mCA));
  rows.push(line('mean_all', 'mean', s.meanPerSeverity19, s.mCA19));
  rows.push(line('clean', 'clean', [null, null, null, null, null], s.clean));
  return [header, ...rows].join('\n') + '\n';
}

/** Distinct colours for up to 20 lines: the 10-colour palette, then lighter variants. */
function colour(i: number): string {
  if (i < PALETTE.length) return PALETTE[i];
  const base = PALETTE[i % PALETTE.length];
  const mix = (h: string) => Math.round(parseInt(h, 16) + (255 - parseInt(h, 16)) * 0.45).toString(16).padStart(2, '0');
  return `#${mix(base.slice(1, 3))}${mix(base.slice(3, 5))}${mix(base.slice(5, 7))}`;
}

/**
 * Accuracy (%) against severity: one line per corruption, the mean over the benchmark corruptions
 * (thick, black) and clean accuracy as a dashed horizontal reference (named in the subtitle).
 */
export function corruptionsSvg(s: CorruptionSummary, title: string): string {
  const pct = (v: number) => 100 * v;
  const points = (row: SeverityRow): [number, number][] => row.flatMap((v, i) => (v === null ? [] : [[i + 1, pct(v)] as [number, number]]));
  const series: Series[] = [];
  if (s.mCA !== null) series.push({ name: 'mean (15)', points: points(s.meanPerSeverity), color: '#000000' });
  else if (s.mCA19 !== null) series.push({ name: 'mean', points: points(s.meanPerSeverity19), color: '#000000' });
  const trainedOn = s.trainedOn ?? [];
  Object.entries(s.perCorruption).forEach(([name, row], i) => series.push({ name: trainedOn.includes(name) ? `${name} ${SEEN_IN_TRAINING_MARK}` : name, points: points(row), color: colour(i) }));
  const evaluated = [1, 2, 3, 4, 5].filter((sev) => Object.values(s.perCorruption).some((row) => row[sev - 1] !== null));
  const lo = evaluated.length ? Math.min(...evaluated) : 1;
  const hi = evaluated.length ? Math.max(...evaluated) : 5;
  series.push({ name: 'clean', points: [[lo, pct(s.clean)], [hi, pct(s.clean)]], color: '#555555', dashed: true });
  const parts = [`dashed: clean ${pct(s.clean).toFixed(2)}%`];
  if (s.mCA !== null) parts.push(`mCA ${pct(s.mCA).toFixed(2)}% (${s.complete.mCA ? '15 corruptions' : 'benchmark corruptions evaluated'})`);
  if (s.mCA19 !== null) parts.push(`all ${Object.keys(s.perCorruption).length}: ${pct(s.mCA19).toFixed(2)}%`);
  if (trainedOn.length) parts.push(`${SEEN_IN_TRAINING_MARK} ${SEEN_IN_TRAINING_NOTE}`);
  const svg = lineChart({
    title,
    subtitle: parts.join(' · '),
    xLabel: 'severity',
    yLabel: 'accuracy (%)',
    yRange: [0, 100],
    xTicks: [1, 2, 3, 4, 5].filter((v) => v >= lo && v <= hi),
    xTickFormat: (v) => String(v),
    width: 820,
    height: 520,
    series,
  });
  // The mean line is drawn first; draw it again on top of the corruption lines, thicker.
  if (s.mCA === null && s.mCA19 === null) return svg;
  const first = svg.indexOf('<polyline');
  const end = svg.indexOf('</polyline>', first) + '</polyline>'.length;
  const thick = svg.slice(first, end).replace('stroke-width="2"', 'stroke-width="3.5"');
  return svg.replace('\n</svg>', `\n${thick}\n</svg>`);
}
