// Gradient-variability statistics from raw per-(unit, sample) input gradients, float64.
export interface GradientStats {
  cvSamples: number;
  cvUnits: number;
  dirVarSamples: number;
  dirVarUnits: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cv = (xs: number[]) => {
  const m = mean(xs);
  return m > 0 ? Math.sqrt(mean(xs.map((v) => (v - m) ** 2))) / m : 0;
};

/** grads[u][n] is the flattened gradient of unit u's mean activation w.r.t. sample n's input. */
export function gradientStatsRef(grads: Float64Array[][]): GradientStats {
  const N = grads[0].length;
  const norms = grads.map((row) => row.map((g) => Math.hypot(...g)));
  const unit = grads.map((row, u) => row.map((g, n) => g.map((v) => (norms[u][n] > 0 ? v / norms[u][n] : 0))));
  const dirVar = (vectors: Float64Array[]) => {
    const m = new Float64Array(vectors[0].length);
    for (const v of vectors) v.forEach((x, i) => (m[i] += x / vectors.length));
    return 1 - m.reduce((s, x) => s + x * x, 0);
  };
  return {
    cvSamples: mean(norms.map(cv)),
    cvUnits: mean(Array.from({ length: N }, (_, n) => cv(norms.map((row) => row[n])))),
    dirVarSamples: mean(unit.map(dirVar)),
    dirVarUnits: mean(Array.from({ length: N }, (_, n) => dirVar(unit.map((row) => row[n])))),
  };
}
