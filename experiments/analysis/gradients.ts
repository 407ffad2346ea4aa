// Input–unit gradient variability (docs/method.md): for a unit u of a block output (a channel,
// averaged over space) and a sample x_n, g_{u,n} = ∂ā_u(x_n)/∂x_n. Per layer it reports
//   dirVarSamples  mean over units of the variance, across samples, of v = g/‖g‖ (v = 0 when g = 0)
//   dirVarUnits    mean over samples of the variance of v across units
// where the variance of a set of vectors is mean‖v‖² − ‖mean v‖². A silent pair (g = 0) counts as the
// zero vector, so silence itself adds variance; the same variances over the active pairs alone, and
// the silent fraction, are reported beside them. Also the coefficient of variation of ‖g‖ across
// samples and across units.
//
// Several units are measured in one pass: the sample batch is repeated once per unit along the batch
// axis (eval mode, so rows are independent), the forward stops at the layer, and one backward of
// Σ_k ā_{u_k}(row k) gives every unit's gradient in its own rows.
import { backward, noGrad } from '../../engine/autograd.js';
import { addRaw, div, maximum, mul, mulRaw, sqrt } from '../../engine/ops/elementwise.js';
import { expandRaw, mean, sum } from '../../engine/ops/reduce.js';
import { scope, tensor, type Tensor } from '../../engine/tensor.js';
import type { ResNet } from '../../models/resnet.js';
import { mulberry32 } from '../data/dataset.js';
import { sliceRows } from './dimensionality.js';

export interface GradientVariability {
  layer: string;
  units: number[];
  samples: number;
  /** Variance of normalised gradients across samples (silent pairs as zero vectors), mean over units. */
  dirVarSamples: number;
  /** Variance of normalised gradients across units (silent pairs as zero vectors), mean over samples. */
  dirVarUnits: number;
  /** The same over active pairs only: units (samples) with fewer than 2 active pairs are left out; NaN if none qualifies. */
  dirVarSamplesActive: number;
  dirVarUnitsActive: number;
  /** Fraction of (unit, sample) pairs whose gradient is exactly zero. */
  silentFraction: number;
  /** Coefficient of variation of ‖g‖ across samples (mean over units that are active somewhere). */
  cvSamples: number;
  /** Coefficient of variation of ‖g‖ across units (mean over samples with an active unit). */
  cvUnits: number;
  /** ‖g_{u,n}‖ for every chosen unit (rows) and sample (columns). */
  norms: number[][];
}

export interface GradientOptions {
  /** Rows per forward/backward pass: sample batch × units measured together. */
  batchSize: number;
  /** Units per layer (a fixed random subset when the layer has more). */
  unitsPerLayer: number;
  layers?: number[];
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Mean of the finite values; NaN when there are none. */
export function meanDefined(xs: readonly number[]): number {
  const ok = xs.filter(Number.isFinite);
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
}

/** Population coefficient of variation; NaN when the mean is 0 (every value 0). */
function cv(xs: readonly number[]): number {
  const m = xs.reduce((s, v) => s + v, 0) / xs.length;
  const variance = xs.reduce((s, v) => s + (v - m) ** 2, 0) / xs.length;
  return m > 0 ? Math.sqrt(variance) / m : NaN;
}

/** A fixed random subset of `k` of `n` units, sorted. */
export function chooseUnits(n: number, k: number, seed: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (k >= n) return all;
  const r = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, k).sort((a, b) => a - b);
}

/** Per-row sums of a [R, D] tensor's squares, read back. */
async function rowSquares(t: Tensor): Promise<Float32Array> {
  const sq = noGrad(() => sum(mulRaw(t, t), 1));
  const values = (await sq.toArray()) as Float32Array;
  sq.dispose();
  return values;
}

/** Variance statistics of one layer from the norms and the sums of normalised gradients. */
export function layerStatistics(norms: number[][], unitSumSquares: ArrayLike<number>, sampleSumSquares: ArrayLike<number>) {
  const U = norms.length;
  const N = norms[0].length;
  const activeOfUnit = norms.map((row) => row.filter((v) => v > 0).length);
  const activeOfSample = Array.from({ length: N }, (_, n) => norms.filter((row) => row[n] > 0).length);
  const totalActive = activeOfUnit.reduce((a, b) => a + b, 0);
  // Active v have ‖v‖² = 1 and silent ones 0, so Σ‖v‖² over a set is its active count.
  const dirVarSamples = activeOfUnit.map((a, u) => a / N - unitSumSquares[u] / N ** 2);
  const dirVarUnits = activeOfSample.map((a, n) => a / U - sampleSumSquares[n] / U ** 2);
  const dirVarSamplesActive = activeOfUnit.map((a, u) => (a >= 2 ? 1 - unitSumSquares[u] / a ** 2 : NaN));
  const dirVarUnitsActive = activeOfSample.map((a, n) => (a >= 2 ? 1 - sampleSumSquares[n] / a ** 2 : NaN));
  return {
    dirVarSamples: meanDefined(dirVarSamples),
    dirVarUnits: meanDefined(dirVarUnits),
    dirVarSamplesActive: meanDefined(dirVarSamplesActive),
    dirVarUnitsActive: meanDefined(dirVarUnitsActive),
    silentFraction: 1 - totalActive / (U * N),
    cvSamples: meanDefined(norms.map(cv)),
    cvUnits: meanDefined(Array.from({ length: N }, (_, n) => cv(norms.map((row) => row[n])))),
  };
}

export async function gradientVariability(model: ResNet, images: Tensor, names: string[], options: GradientOptions): Promise<GradientVariability[]> {
  const [N, H, W, C] = images.shape;
  const D = H * W * C;
  const layers = options.layers ?? names.map((_, i) => i);
  const params = model.parameters();
  const wasTraining = model.training;
  const frozen = params.map((p) => p.requiresGrad);
  params.forEach((p) => (p.requiresGrad = false));
  model.eval();
  try {
    // Unit count per layer, from one probe row.
    const channels = noGrad(() => scope(() => model.forwardBlocks(sliceRows(images, 0, 1, [H, W, C])).map((b) => b.shape[3])));
    const passes = layers.map((l) => {
      const units = chooseUnits(channels[l], options.unitsPerLayer, (options.seed ?? 0) * 1000 + l);
      const batch = Math.max(1, Math.min(N, Math.floor(options.batchSize / units.length)));
      const group = Math.max(1, Math.min(units.length, Math.floor(options.batchSize / batch)));
      return { l, units, batch, group };
    });
    const total = passes.reduce((s, p) => s + Math.ceil(N / p.batch) * Math.ceil(p.units.length / p.group), 0);
    let done = 0;
    const results: GradientVariability[] = [];
    for (const { l, units, batch, group } of passes) {
      const U = units.length;
      // Σ_n v_{u,n} per unit ([k, D] per unit group) and Σ_u v_{u,n} per sample ([b, D] per sample batch).
      const unitSums: (Tensor | null)[] = [];
      const sampleSums: Tensor[] = [];
      const normParts: { start: number; count: number; first: number; k: number; norms: Tensor }[] = [];
      for (let start = 0; start < N; start += batch) {
        const count = Math.min(batch, N - start);
        let acrossUnits: Tensor | null = null;
        for (let first = 0, gi = 0; first < U; first += group, gi++) {
          const k = Math.min(group, U - first);
          const rows = noGrad(() => scope(() => expandRaw(sliceRows(images, start, count, [H, W, C]).view([1, count * D]), [k, count * D]).view([k * count, H, W, C]))).keep();
          rows.requiresGrad = true;
          scope(() => {
            const pooled = mean(model.forwardBlocks(rows, l)[l], [1, 2]);
            const Cl = pooled.shape[1];
            const pick = new Float32Array(k * count * Cl);
            for (let j = 0; j < k; j++) for (let n = 0; n < count; n++) pick[(j * count + n) * Cl + units[first + j]] = 1;
            backward(sum(mul(pooled, tensor(pick, [k * count, Cl]))));
          });
          const g = rows.grad!;
          rows.grad = null;
          rows.dispose();
          const [norms, unitSum, unitsAcc] = noGrad(() => scope(() => {
            const norm = sqrt(sum(mulRaw(g, g), [1, 2, 3], { keepDims: true }));
            // A silent unit has a zero gradient: its direction counts as the zero vector, not NaN.
            const v = div(g, maximum(norm, tensor([1e-30]))).view([k, count, D]);
            const overSamples = sum(v, 1);
            const overUnits = sum(v, 0);
            const prev = unitSums[gi];
            return [norm.view([k * count]), prev ? addRaw(prev, overSamples) : overSamples, acrossUnits ? addRaw(acrossUnits, overUnits) : overUnits];
          }));
          g.dispose();
          unitSums[gi]?.dispose();
          unitSums[gi] = unitSum.keep();
          acrossUnits?.dispose();
          acrossUnits = unitsAcc.keep();
          normParts.push({ start, count, first, k, norms: norms.keep() });
          options.onProgress?.(++done, total);
        }
        sampleSums.push(acrossUnits!);
      }
      const norms = units.map(() => new Array<number>(N).fill(0));
      for (const part of normParts) {
        const values = (await part.norms.toArray()) as Float32Array;
        for (let j = 0; j < part.k; j++) for (let n = 0; n < part.count; n++) norms[part.first + j][part.start + n] = values[j * part.count + n];
        part.norms.dispose();
      }
      const unitSumSquares: number[] = [];
      for (const s of unitSums) {
        unitSumSquares.push(...(await rowSquares(s!)));
        s!.dispose();
      }
      const sampleSumSquares: number[] = [];
      for (const s of sampleSums) {
        sampleSumSquares.push(...(await rowSquares(s)));
        s.dispose();
      }
      results.push({ layer: names[l], units, samples: N, ...layerStatistics(norms, unitSumSquares, sampleSumSquares), norms });
    }
    return results;
  } finally {
    params.forEach((p, i) => (p.requiresGrad = frozen[i]));
    model.train(wasTraining);
  }
}
