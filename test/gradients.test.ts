import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward } from '../engine/autograd.js';
import { manualSeed } from '../engine/ops/random.js';
import { mean } from '../engine/ops/reduce.js';
import { slice } from '../engine/ops/shape.js';
import { tensor } from '../engine/tensor.js';
import { ResNet } from '../models/resnet.js';
import { gradientVariability } from '../experiments/analysis/gradients.js';
import { blockNames } from '../experiments/selectivity.js';
import { gradCheck, setupGpu, uniform } from './helpers.js';
import { gradientStatsRef } from './reference/gradients.js';

test.before(setupGpu);

function tinyResNet(): ResNet {
  manualSeed(17);
  const model = new ResNet({ widths: [4, 8], depths: [1, 1], numClasses: 3, shortcut: 'A', mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
  model.eval();
  return model;
}

test('the gradient of a unit\'s mean activation w.r.t. the input matches finite differences', async () => {
  const model = tinyResNet();
  await gradCheck('unit gradient', (x) => slice(mean(model.forward(x).blocks[1], [1, 2]), [0, 3], [2, 1]), [{ data: uniform(2 * 6 * 6 * 3, 3, 0, 1), shape: [2, 6, 6, 3] }], { h: 3e-4, samples: 10 }); // small h: ReLU kinks lie within 1e-3 of some inputs
  model.dispose();
});

test('gradient variability statistics match a CPU reference computed from the raw gradients', async () => {
  const model = tinyResNet();
  const N = 5;
  const images = tensor(uniform(N * 6 * 6 * 3, 4, 0, 1), [N, 6, 6, 3]);
  const result = await gradientVariability(model, images, blockNames(model), { batchSize: 3, unitsPerLayer: 3, seed: 1 });
  assert.is(result.length, 2);
  for (const [li, layer] of result.entries()) {
    // Raw gradients, one unit and one sample at a time, through the autograd API.
    const grads = await Promise.all(layer.units.map(async (u) => Promise.all(Array.from({ length: N }, async (_, n) => {
      const x = tensor((await images.toArray()).slice(n * 108, (n + 1) * 108) as Float32Array, [1, 6, 6, 3]);
      x.requiresGrad = true;
      model.parameters().forEach((p) => (p.requiresGrad = false));
      const a = slice(mean(model.forward(x).blocks[li], [1, 2]), [0, u], [1, 1]);
      backward(a, { grad: tensor([1], [1, 1]) });
      return Float64Array.from((await x.grad!.toArray()) as Float32Array);
    }))));
    const ref = gradientStatsRef(grads);
    // Both sides read the same f32 gradients; the statistics are sums of ≤ 108·N terms (≲ 1e-5 relative).
    for (const key of ['cvSamples', 'cvUnits', 'dirVarSamples', 'dirVarUnits'] as const) {
      assert.ok(Math.abs(layer[key] - ref[key]) <= 1e-4 * Math.max(1, Math.abs(ref[key])), `${layer.layer} ${key}: ${layer[key]} vs ${ref[key]}`);
    }
    assert.ok(layer.dirVarSamples >= 0 && layer.dirVarSamples <= 1);
  }
  model.dispose();
});

test.run();
