// Dependency-free SVG charts: line charts, scatter plots (with a least-squares trend) and box plots.
// Every chart is a standalone, valid SVG document string; text is XML-escaped.

export interface Series {
  name: string;
  /** [x, y] or [x, y, e]: e draws an error bar y ± e (e.g. the standard deviation over seeds). */
  points: [number, number, number?][];
  color?: string;
  dashed?: boolean;
}

export type Scale = 'linear' | 'symlog';

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** symlog: sign(x)·log10(1 + |x|), for α grids spanning −100…+5. */
  xScale?: Scale;
  yRange?: [number, number];
  /** A note under the title (e.g. a correlation). */
  subtitle?: string;
  /** Labels for x ticks (e.g. layer names at positions 1..n). */
  xTickFormat?: (v: number) => string;
  /** Explicit x tick positions. */
  xTicks?: number[];
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const symlog = (x: number) => Math.sign(x) * Math.log10(1 + Math.abs(x));

/** "Nice" tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  // Counted rather than accumulated: a step below the spacing of floats near lo would never advance t.
  const first = Math.ceil(lo / step);
  for (let k = 0; k <= 4 * count; k++) {
    const t = (first + k) * step;
    if (t > hi + step * 1e-9) break;
    ticks.push(Number(t.toPrecision(12)));
  }
  return ticks;
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

interface Frame {
  svg: string[];
  x: (v: number) => number;
  y: (v: number) => number;
  width: number;
  height: number;
}

const BASE_MARGIN = { left: 64, right: 24, top: 48, bottom: 52 };
let MARGIN = { ...BASE_MARGIN };

/** Widens the right margin to fit the legend's longest label (≈ 6.6 px per character at 12 px). */
function fitLegend(names: string[]): void {
  const longest = Math.max(0, ...names.slice(0, 20).map((n) => n.length));
  MARGIN = { ...BASE_MARGIN, right: names.length ? Math.min(320, 48 + longest * 6.6) : BASE_MARGIN.right };
}

function frame(o: ChartOptions, xs: number[], ys: number[], xTicksOverride = o.xTicks, tickLabel: (v: number) => string = o.xTickFormat ?? formatTick): Frame {
  const width = o.width ?? 640;
  const height = o.height ?? 400;
  const tx = o.xScale === 'symlog' ? symlog : (v: number) => v;
  const finiteX = xs.filter(Number.isFinite).map(tx);
  const finiteY = ys.filter(Number.isFinite);
  let [x0, x1] = finiteX.length ? [Math.min(...finiteX), Math.max(...finiteX)] : [0, 1];
  let [y0, y1] = o.yRange ?? (finiteY.length ? [Math.min(...finiteY), Math.max(...finiteY)] : [0, 1]);
  // Ranges that differ only by rounding count as a single value.
  const flat = (lo: number, hi: number) => hi - lo <= 1e-9 * Math.max(Math.abs(lo), Math.abs(hi));
  if (flat(x0, x1)) [x0, x1] = [x0 - 1, x1 + 1];
  if (flat(y0, y1)) [y0, y1] = [y0 - (Math.abs(y0) || 1) * 0.1, y1 + (Math.abs(y1) || 1) * 0.1];
  const padY = o.yRange ? 0 : (y1 - y0) * 0.05;
  y0 -= padY;
  y1 += padY;
  const pw = width - MARGIN.left - MARGIN.right;
  const ph = height - MARGIN.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + ((tx(v) - x0) / (x1 - x0)) * pw;
  const y = (v: number) => MARGIN.top + (1 - (v - y0) / (y1 - y0)) * ph;
  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="20" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`,
  ];
  if (o.subtitle) svg.push(`<text x="${MARGIN.left}" y="37" fill="#444">${escapeXml(o.subtitle)}</text>`);
  const yTicks = niceTicks(y0, y1);
  for (const t of yTicks) {
    svg.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + pw}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    svg.push(`<text x="${MARGIN.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${formatTick(t)}</text>`);
  }
  const xTicks = xTicksOverride ?? (o.xScale === 'symlog' ? [...new Set(xs.filter(Number.isFinite))].sort((a, b) => a - b) : niceTicks(x0, x1));
  const shown = xTicks.length > 14 ? xTicks.filter((_, i) => i % Math.ceil(xTicks.length / 14) === 0) : xTicks;
  for (const t of shown) {
    svg.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${MARGIN.top + ph}" y2="${MARGIN.top + ph + 4}" stroke="#333"/>`);
    svg.push(`<text x="${x(t).toFixed(1)}" y="${MARGIN.top + ph + 17}" text-anchor="middle">${escapeXml(tickLabel(t))}</text>`);
  }
  svg.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  svg.push(`<text x="${MARGIN.left + pw / 2}" y="${height - 10}" text-anchor="middle">${escapeXml(o.xLabel)}${o.xScale === 'symlog' ? ' (symmetric log scale)' : ''}</text>`);
  svg.push(`<text transform="translate(16 ${MARGIN.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);
  return { svg, x, y, width, height };
}

function legend(f: Frame, series: { name: string; color: string; dashed?: boolean }[]): void {
  const x = f.width - MARGIN.right + 12;
  series.slice(0, 20).forEach((s, i) => {
    const y = MARGIN.top + 8 + i * 18;
    f.svg.push(`<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    f.svg.push(`<text x="${x + 24}" y="${y + 4}">${escapeXml(s.name)}</text>`);
  });
}

const colorOf = (s: Series, i: number) => s.color ?? PALETTE[i % PALETTE.length];

export function lineChart(o: ChartOptions & { series: Series[] }): string {
  fitLegend(o.series.map((s) => s.name));
  const err = (p: [number, number, number?]) => (Number.isFinite(p[2]) ? p[2]! : 0);
  const f = frame(o, o.series.flatMap((s) => s.points.map((p) => p[0])), o.series.flatMap((s) => s.points.flatMap((p) => [p[1] - err(p), p[1] + err(p)])));
  o.series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])).sort((a, b) => a[0] - b[0]);
    if (pts.length === 0) return;
    const color = colorOf(s, i);
    f.svg.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts.map((p) => `${f.x(p[0]).toFixed(1)},${f.y(p[1]).toFixed(1)}`).join(' ')}"><title>${escapeXml(s.name)}</title></polyline>`);
    for (const p of pts) {
      const cx = f.x(p[0]).toFixed(1);
      if (err(p) > 0) f.svg.push(`<path d="M${(+cx - 3).toFixed(1)} ${f.y(p[1] + err(p)).toFixed(1)}h6M${cx} ${f.y(p[1] + err(p)).toFixed(1)}V${f.y(p[1] - err(p)).toFixed(1)}M${(+cx - 3).toFixed(1)} ${f.y(p[1] - err(p)).toFixed(1)}h6" stroke="${color}" stroke-width="1.2" fill="none"/>`);
      f.svg.push(`<circle cx="${cx}" cy="${f.y(p[1]).toFixed(1)}" r="3" fill="${color}"><title>${escapeXml(`${s.name}: ${p[0]} → ${p[1].toPrecision(4)}${err(p) > 0 ? ` ± ${err(p).toPrecision(3)}` : ''}`)}</title></circle>`);
    }
  });
  legend(f, o.series.map((s, i) => ({ name: s.name, color: colorOf(s, i), dashed: s.dashed })));
  return f.svg.join('\n') + '\n</svg>\n';
}

/** Least-squares line y = a + b·x. */
export function linearFit(points: readonly (readonly [number, number, number?])[]): { a: number; b: number } | null {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const sxx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  if (sxx === 0) return null;
  const b = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / sxx;
  return { a: my - b * mx, b };
}

export function scatterChart(o: ChartOptions & { series: Series[]; trend?: boolean }): string {
  fitLegend([...o.series.map((s) => s.name), ...(o.trend ? ['least-squares fit'] : [])]);
  const all = o.series.flatMap((s) => s.points);
  const f = frame(o, all.map((p) => p[0]), all.map((p) => p[1]));
  o.series.forEach((s, i) => {
    const color = colorOf(s, i);
    for (const p of s.points) {
      if (Number.isFinite(p[0]) && Number.isFinite(p[1])) f.svg.push(`<circle cx="${f.x(p[0]).toFixed(1)}" cy="${f.y(p[1]).toFixed(1)}" r="4" fill="${color}" fill-opacity="0.75"><title>${escapeXml(`${s.name}: (${p[0]}, ${p[1]})`)}</title></circle>`);
    }
  });
  const fit = o.trend ? linearFit(all.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))) : null;
  if (fit) {
    const xs = all.map((p) => p[0]).filter(Number.isFinite);
    const [lo, hi] = [Math.min(...xs), Math.max(...xs)];
    f.svg.push(`<line x1="${f.x(lo).toFixed(1)}" y1="${f.y(fit.a + fit.b * lo).toFixed(1)}" x2="${f.x(hi).toFixed(1)}" y2="${f.y(fit.a + fit.b * hi).toFixed(1)}" stroke="#333" stroke-dasharray="6 4"/>`);
  }
  legend(f, [...o.series.map((s, i) => ({ name: s.name, color: colorOf(s, i) })), ...(fit ? [{ name: 'least-squares fit', color: '#333', dashed: true }] : [])]);
  return f.svg.join('\n') + '\n</svg>\n';
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** One box (quartiles, median, 1.5·IQR whiskers) plus jittered points per group. */
export function boxChart(o: Omit<ChartOptions, 'xScale'> & { groups: { name: string; values: number[] }[] }): string {
  fitLegend([]);
  const values = o.groups.flatMap((g) => g.values);
  const positions = o.groups.map((_, i) => i + 1);
  const f = frame(o, [0.4, o.groups.length + 0.6], values, positions, (v) => o.groups[v - 1]?.name ?? '');
  const boxWidth = Math.min(40, ((f.width - MARGIN.left - MARGIN.right) / Math.max(o.groups.length, 1)) * 0.5);
  o.groups.forEach((g, i) => {
    const sorted = g.values.filter(Number.isFinite).sort((a, b) => a - b);
    if (sorted.length === 0) return;
    const [q1, med, q3] = [0.25, 0.5, 0.75].map((q) => quantile(sorted, q));
    const iqr = q3 - q1;
    const lo = sorted.find((v) => v >= q1 - 1.5 * iqr)!;
    const hi = [...sorted].reverse().find((v) => v <= q3 + 1.5 * iqr)!;
    const cx = f.x(i + 1);
    const color = PALETTE[i % PALETTE.length];
    f.svg.push(`<line x1="${cx}" x2="${cx}" y1="${f.y(lo).toFixed(1)}" y2="${f.y(hi).toFixed(1)}" stroke="#333"/>`);
    f.svg.push(`<rect x="${(cx - boxWidth / 2).toFixed(1)}" y="${f.y(q3).toFixed(1)}" width="${boxWidth.toFixed(1)}" height="${Math.max(1, f.y(q1) - f.y(q3)).toFixed(1)}" fill="${color}" fill-opacity="0.3" stroke="${color}"><title>${escapeXml(`${g.name}: median ${med.toPrecision(3)}, n = ${sorted.length}`)}</title></rect>`);
    f.svg.push(`<line x1="${(cx - boxWidth / 2).toFixed(1)}" x2="${(cx + boxWidth / 2).toFixed(1)}" y1="${f.y(med).toFixed(1)}" y2="${f.y(med).toFixed(1)}" stroke="${color}" stroke-width="2.5"/>`);
    sorted.forEach((v, k) => {
      const jitter = ((k * 0.618) % 1 - 0.5) * boxWidth * 0.8;
      f.svg.push(`<circle cx="${(cx + jitter).toFixed(1)}" cy="${f.y(v).toFixed(1)}" r="1.6" fill="${color}" fill-opacity="0.6"/>`);
    });
  });
  return f.svg.join('\n') + '\n</svg>\n';
}
