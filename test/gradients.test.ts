import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward } from '../engine/autograd.js';
import { manualSeed } from '../engine/ops/random.js';
import { mean } from '../engine/ops/reduce.js';
import { slice } from '../engine/ops/shape.js';
import { tensor } from '../engine/tensor.js';
import { ResNet } from '../models/resnet.js';
import { gradientVariability, layerStatistics } from '../experiments/analysis/gradients.js';
import { blockNames } from '../experiments/selectivity.js';
import { gradCheck, setupGpu, uniform } from './helpers.js';
import { gradientStatsRef } from './reference/gradients.js';

test.before(setupGpu);

const N = 4;
const SIDE = 6;
const PIXELS = SIDE * SIDE * 3;

function tinyResNet(): ResNet {
  manualSeed(17);
  const model = new ResNet({ widths: [4, 8], depths: [1, 1], numClasses: 3, shortcut: 'A', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
  model.eval();
  return model;
}

/**
 * Makes two units of block 1 silent: channel 6 for every sample (bias −1000) and channel 5 for the
 * samples whose largest activation lies below the median (its bias shifted down by that median), so
 * the statistics meet zero gradients as well as active ones.
 */
async function silence(model: ResNet, images: ReturnType<typeof tensor>): Promise<void> {
  const out = model.forward(images).blocks[1];
  const values = (await out.toArray()) as Float32Array;
  const C = out.shape[3];
  const maxima = Array.from({ length: N }, (_, n) => {
    let m = 0;
    for (let p = 0; p < out.size / N / C; p++) m = Math.max(m, values[(n * (out.size / N / C) + p) * C + 5]);
    return m;
  }).sort((a, b) => a - b);
  const median = (maxima[N / 2 - 1] + maxima[N / 2]) / 2;
  const bias = Array.from((await model.layers[1][0].bn2.bias.toArray()) as Float32Array);
  bias[5] -= median;
  bias[6] = -1000;
  model.importState({ 'layer2.0.bn2.bias': { data: Float32Array.from(bias), shape: [8], dtype: 'F32' } as never }, { strict: false });
}

test('the gradient of a unit\'s mean activation w.r.t. the input matches finite differences', async () => {
  const model = tinyResNet();
  await gradCheck('unit gradient', (x) => slice(mean(model.forward(x).blocks[1], [1, 2]), [0, 3], [2, 1]), [{ data: uniform(2 * PIXELS, 3, 0, 1), shape: [2, SIDE, SIDE, 3] }], { h: 3e-4, samples: 10 }); // small h: ReLU kinks lie within 1e-3 of some inputs
  model.dispose();
});

test('gradient variability matches a float64 reference from the definitions, with silent units, in any batching', async () => {
  const model = tinyResNet();
  const images = tensor(uniform(N * PIXELS, 4, 0, 1), [N, SIDE, SIDE, 3]);
  await silence(model, images);
  const pixels = (await images.toArray()) as Float32Array;
  // Raw gradients, one unit and one sample at a time, through the autograd API.
  const rawGradients = async (layer: number, units: number[]) => Promise.all(units.map(async (u) => Promise.all(Array.from({ length: N }, async (_, n) => {
    const x = tensor(pixels.slice(n * PIXELS, (n + 1) * PIXELS), [1, SIDE, SIDE, 3]);
    x.requiresGrad = true;
    model.parameters().forEach((p) => (p.requiresGrad = false));
    const a = slice(mean(model.forwardBlocks(x, layer)[layer], [1, 2]), [0, u], [1, 1]);
    backward(a, { grad: tensor([1], [1, 1]) });
    return Float64Array.from((await x.grad!.toArray()) as Float32Array);
  }))));
  // Every sample in one batch, and batches of 3 and 1.
  const batched = await gradientVariability(model, images, blockNames(model), { batchSize: 64, unitsPerLayer: 8, seed: 1 });
  const split = await gradientVariability(model, images, blockNames(model), { batchSize: 3, unitsPerLayer: 8, seed: 1 });
  assert.is(batched.length, 2);
  for (const [li, layer] of batched.entries()) {
    const grads = await rawGradients(li, layer.units);
    const ref = gradientStatsRef(grads);
    if (li === 1) {
      assert.ok(ref.silentFraction > 0 && ref.silentFraction < 1, `silent fraction ${ref.silentFraction}`);
      // 1 − ‖mean v‖², the identity for unit vectors, overstates the variance by each unit's silent
      // fraction, i.e. by the layer's silent fraction on average.
      const unitVectorFormula = grads.reduce((s, row) => {
        const m = new Float64Array(row[0].length);
        for (const g of row) {
          const norm = Math.sqrt(g.reduce((t, x) => t + x * x, 0));
          if (norm > 0) g.forEach((x, i) => (m[i] += x / norm / N));
        }
        return s + (1 - m.reduce((t, x) => t + x * x, 0)) / grads.length;
      }, 0);
      assert.ok(Math.abs(unitVectorFormula - ref.dirVarSamples - ref.silentFraction) < 1e-9, `${unitVectorFormula} − ${ref.dirVarSamples} vs ${ref.silentFraction}`);
    }
    // Both sides read f32 gradients from the same kernels; the statistics are sums of ≤ 108·N·8
    // terms, each rounded at ~6e-8 relative, so they agree to ≲ 1e-5 relative. Silence is exact (g = 0).
    for (const key of ['cvSamples', 'cvUnits', 'dirVarSamples', 'dirVarUnits', 'dirVarSamplesActive', 'dirVarUnitsActive', 'silentFraction'] as const) {
      for (const [label, result] of [['batched', layer], ['split', split[li]]] as const) {
        assert.ok(Math.abs(result[key] - ref[key]) <= 1e-4 * Math.max(1, Math.abs(ref[key])), `${label} ${layer.layer} ${key}: ${result[key]} vs ${ref[key]}`);
      }
    }
    assert.ok(layer.dirVarSamples >= -1e-6 && layer.dirVarSamples <= 1 + 1e-6);
  }
  model.dispose();
});

test('layer statistics on hand-made data: a silent pair is a zero vector, a unit silent everywhere has no CV', () => {
  // Two units, two samples. Unit 0: active for both, directions e1 and e2 → Σv = (1, 1), ‖Σv‖² = 2.
  // Unit 1: active for sample 0 only (direction e1) → ‖Σv‖² = 1.
  // Samples: sample 0 has e1 (unit 0) + e1 (unit 1) → ‖Σv‖² = 4; sample 1 has e2 + 0 → 1.
  const norms = [[2, 3], [5, 0]];
  const s = layerStatistics(norms, [2, 1], [4, 1]);
  // Across samples: unit 0: 2/2 − 2/4 = 0.5; unit 1: 1/2 − 1/4 = 0.25 → mean 0.375.
  assert.is(s.dirVarSamples, 0.375);
  // Across units: sample 0: 2/2 − 4/4 = 0; sample 1: 1/2 − 1/4 = 0.25 → 0.125.
  assert.is(s.dirVarUnits, 0.125);
  // Active only: unit 0 (2 active): 1 − 2/4 = 0.5; unit 1 has one active sample → left out.
  assert.is(s.dirVarSamplesActive, 0.5);
  // Sample 0 (2 active): 1 − 4/4 = 0; sample 1 has one active unit → left out.
  assert.is(s.dirVarUnitsActive, 0);
  assert.is(s.silentFraction, 0.25);
  // CV across samples: unit 0 norms (2, 3): sd 0.5 / mean 2.5 = 0.2; unit 1 (5, 0): 2.5/2.5 = 1 → 0.6.
  assert.ok(Math.abs(s.cvSamples - 0.6) < 1e-12);
  const allSilent = layerStatistics([[0, 0], [1, 1]], [0, 4], [1, 1]);
  assert.is(allSilent.cvSamples, 0, 'the silent unit is left out; the other has CV 0');
});

test.run();
