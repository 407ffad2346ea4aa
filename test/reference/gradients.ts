// Gradient-variability statistics from raw per-(unit, sample) input gradients, in float64, written
// from the definitions: v = g/‖g‖ (the zero vector when g = 0); the variance of a set of vectors is
// the mean squared distance from their mean; the coefficient of variation is the population standard
// deviation over the mean.
export interface GradientStats {
  cvSamples: number;
  cvUnits: number;
  dirVarSamples: number;
  dirVarUnits: number;
  dirVarSamplesActive: number;
  dirVarUnitsActive: number;
  silentFraction: number;
}

const average = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Mean over the defined (finite) entries. */
const averageDefined = (xs: number[]) => average(xs.filter(Number.isFinite));

function coefficientOfVariation(xs: number[]): number {
  const m = average(xs);
  return m > 0 ? Math.sqrt(average(xs.map((v) => (v - m) ** 2))) / m : NaN;
}

/** (1/m) Σ_i ‖v_i − v̄‖²; NaN for fewer than 2 vectors when `needTwo`. */
function setVariance(vectors: Float64Array[], needTwo = false): number {
  if (vectors.length === 0 || (needTwo && vectors.length < 2)) return NaN;
  const centre = new Float64Array(vectors[0].length);
  for (const v of vectors) v.forEach((x, i) => (centre[i] += x / vectors.length));
  return average(vectors.map((v) => v.reduce((s, x, i) => s + (x - centre[i]) ** 2, 0)));
}

/** grads[u][n] is the flattened gradient of unit u's mean activation w.r.t. sample n's input. */
export function gradientStatsRef(grads: Float64Array[][]): GradientStats {
  const U = grads.length;
  const N = grads[0].length;
  const norms = grads.map((row) => row.map((g) => Math.sqrt(g.reduce((s, x) => s + x * x, 0))));
  const directions = grads.map((row, u) => row.map((g, n) => g.map((x) => (norms[u][n] > 0 ? x / norms[u][n] : 0))));
  const samplesOf = (u: number) => directions[u];
  const unitsOf = (n: number) => directions.map((row) => row[n]);
  const active = (u: number, n: number) => norms[u][n] > 0;
  const units = Array.from({ length: U }, (_, u) => u);
  const samples = Array.from({ length: N }, (_, n) => n);
  let silent = 0;
  for (const u of units) for (const n of samples) if (!active(u, n)) silent++;
  return {
    cvSamples: averageDefined(units.map((u) => coefficientOfVariation(norms[u]))),
    cvUnits: averageDefined(samples.map((n) => coefficientOfVariation(units.map((u) => norms[u][n])))),
    dirVarSamples: average(units.map((u) => setVariance(samplesOf(u)))),
    dirVarUnits: average(samples.map((n) => setVariance(unitsOf(n)))),
    dirVarSamplesActive: averageDefined(units.map((u) => setVariance(samplesOf(u).filter((_, n) => active(u, n)), true))),
    dirVarUnitsActive: averageDefined(samples.map((n) => setVariance(unitsOf(n).filter((_, u) => active(u, n)), true))),
    silentFraction: silent / (U * N),
  };
}
