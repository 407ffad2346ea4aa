// Small statistics for reports: means, medians, standard deviations, Pearson's r and average ranks (the
// study's tests build on them in experiments/study/statistics.ts).
export const meanOf = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** The median (the mean of the middle two for an even count); NaN for no values. */
export function medianOf(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

export function stdOf(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = meanOf(xs);
  return Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / (xs.length - 1));
}

/** Pearson's r over equal-length vectors in float64; NaN for n < 2 or a constant input. */
export function pearson(xs: ArrayLike<number>, ys: ArrayLike<number>): number {
  const n = xs.length;
  if (ys.length !== n) throw new Error(`pearson: ${n} x values but ${ys.length} y values`);
  if (n < 2) return NaN;
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

/** Average ranks (ties share their mean rank). */
export function ranks(xs: number[]): number[] {
  const order = xs.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++;
    for (let k = i; k <= j; k++) r[order[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}


/** Groups values by a numeric key, returning [key, values] sorted by key. */
export function groupBy<T>(items: T[], key: (t: T) => number, value: (t: T) => number | undefined): [number, number[]][] {
  const groups = new Map<number, number[]>();
  for (const item of items) {
    const v = value(item);
    if (v === undefined || !Number.isFinite(v)) continue;
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), v]);
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]);
}
