// Input–unit gradient variability (SPEC §6): for a unit u of a block output (a channel, averaged
// over space), g_{u,n} = ∂ā_u(x_n)/∂x_n. The forward pass runs once per batch (eval mode, so samples
// are independent); each unit then costs one backward through the retained graph. Reported per layer:
//   cvSamples  mean over units of the coefficient of variation of ‖g‖ across samples
//   cvUnits    mean over samples of the coefficient of variation of ‖g‖ across units
//   dirVarSamples  mean over units of the variance of ĝ = g/‖g‖ across samples = 1 − ‖mean_n ĝ‖²
//   dirVarUnits    mean over samples of the variance of ĝ across units       = 1 − ‖mean_u ĝ‖²
// (unit vectors: the total variance of a set of them is 1 − ‖their mean‖², in [0, 1]).
import { backward, noGrad } from '../../engine/autograd.js';
import { addRaw, div, maximum, mulRaw, sqrt } from '../../engine/ops/elementwise.js';
import { expandRaw, sum } from '../../engine/ops/reduce.js';
import { scope, tensor, type Tensor } from '../../engine/tensor.js';
import type { ResNet } from '../../models/resnet.js';
import { mulberry32 } from '../data/dataset.js';
import { checkBatchSize, sliceRows } from './dimensionality.js';

export interface GradientVariability {
  layer: string;
  units: number[];
  samples: number;
  cvSamples: number;
  cvUnits: number;
  dirVarSamples: number;
  dirVarUnits: number;
  /** ‖g_{u,n}‖ for every chosen unit (rows) and sample (columns). */
  norms: number[][];
}

export interface GradientOptions {
  batchSize: number;
  /** Units per layer (a fixed random subset when the layer has more). */
  unitsPerLayer: number;
  layers?: number[];
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

const cv = (xs: number[]) => {
  const m = xs.reduce((s, v) => s + v, 0) / xs.length;
  const variance = xs.reduce((s, v) => s + (v - m) ** 2, 0) / xs.length;
  return m > 0 ? Math.sqrt(variance) / m : 0;
};

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

export async function gradientVariability(model: ResNet, images: Tensor, names: string[], options: GradientOptions): Promise<GradientVariability[]> {
  const [N, H, W, C] = images.shape;
  checkBatchSize('gradient variability', options.batchSize);
  const layers = options.layers ?? names.map((_, i) => i);
  const params = model.parameters();
  const wasTraining = model.training;
  const frozen = params.map((p) => p.requiresGrad);
  params.forEach((p) => (p.requiresGrad = false));
  model.eval();
  const norms: number[][][] = layers.map(() => []);
  const unitSums: (Tensor | null)[][] = layers.map(() => []);
  const dirVarUnits: number[][] = layers.map(() => []);
  const units: number[][] = [];
  const totalWork = Math.ceil(N / options.batchSize) * layers.length;
  let done = 0;
  try {
    for (let start = 0; start < N; start += options.batchSize) {
      const count = Math.min(options.batchSize, N - start);
      const x = noGrad(() => sliceRows(images, start, count, [H, W, C])).keep();
      x.requiresGrad = true;
      const blocks = scope(() => model.forward(x).blocks);
      for (const [li, l] of layers.entries()) {
        const [, Hl, Wl, Cl] = blocks[l].shape;
        units[li] ??= chooseUnits(Cl, options.unitsPerLayer, (options.seed ?? 0) * 1000 + l);
        let acrossUnits: Tensor | null = null;
        for (const [ui, u] of units[li].entries()) {
          const seed = noGrad(() => scope(() => {
            const onehot = new Float32Array(Cl);
            onehot[u] = 1 / (Hl * Wl);
            return expandRaw(tensor(onehot, [1, 1, 1, Cl]), [count, Hl, Wl, Cl]);
          }));
          backward(blocks[l], { grad: seed, retainGraph: true });
          seed.dispose();
          const g = x.grad!;
          x.grad = null;
          const [norm, unitSum, unitsAcc] = noGrad(() => scope(() => {
            const n = sqrt(sum(mulRaw(g, g), [1, 2, 3], { keepDims: true }));
            // A dead unit has a zero gradient: its direction counts as the zero vector, not NaN.
            const unitVector = div(g, maximum(n, tensor([1e-30])));
            const overSamples = sum(unitVector, 0);
            const prev = unitSums[li][ui];
            return [n, prev ? addRaw(prev, overSamples) : overSamples, acrossUnits ? addRaw(acrossUnits, unitVector) : unitVector];
          }));
          g.dispose();
          unitSums[li][ui]?.dispose();
          unitSums[li][ui] = unitSum.keep();
          acrossUnits?.dispose();
          acrossUnits = unitsAcc.keep();
          norms[li][ui] = [...(norms[li][ui] ?? []), ...Array.from((await norm.toArray()) as Float32Array)];
          norm.dispose();
        }
        // Variance of unit gradient directions across units, per sample: 1 − ‖mean_u ĝ‖².
        const meanSq = noGrad(() => scope(() => {
          const m = div(acrossUnits!, tensor([units[li].length]));
          return sum(mulRaw(m, m), [1, 2, 3]);
        }));
        dirVarUnits[li].push(...Array.from((await meanSq.toArray()) as Float32Array, (v) => 1 - v));
        meanSq.dispose();
        acrossUnits!.dispose();
        options.onProgress?.(++done, totalWork);
      }
      blocks.forEach((b) => b.dispose());
      x.dispose();
    }
    const results: GradientVariability[] = [];
    for (const [li, l] of layers.entries()) {
      const unitCount = units[li].length;
      const dirVarSamples: number[] = [];
      for (let ui = 0; ui < unitCount; ui++) {
        const s = unitSums[li][ui]!;
        const v = (await s.toArray()) as Float32Array;
        const sq = v.reduce((acc, t) => acc + (t / N) ** 2, 0);
        dirVarSamples.push(1 - sq);
        s.dispose();
      }
      const perUnitCv = norms[li].map(cv);
      const perSampleCv = Array.from({ length: N }, (_, n) => cv(norms[li].map((row) => row[n])));
      const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      results.push({
        layer: names[l], units: units[li], samples: N,
        cvSamples: avg(perUnitCv), cvUnits: avg(perSampleCv),
        dirVarSamples: avg(dirVarSamples), dirVarUnits: avg(dirVarUnits[li]),
        norms: norms[li],
      });
    }
    return results;
  } finally {
    params.forEach((p, i) => (p.requiresGrad = frozen[i]));
    model.train(wasTraining);
  }
}
