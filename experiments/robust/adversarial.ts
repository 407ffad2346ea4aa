// The inner maximisation of adversarial training (docs/robust-training.md): from a uniform random
// point of the ε-ball, K projected gradient steps on the cross-entropy (PGD-AT, Madry et al. 2018);
// FGSM-RS (Wong et al. 2020) is the case K = 1 with a step of 1.25·ε. The search runs with batch
// norm in training mode (batch statistics), as the published PyTorch recipes do, but leaves the
// running statistics as they were: only the training pass on the examples found updates them.
// Everything is recorded on the GPU; nothing is read back.
import { projectedStep } from '../../engine/ops/attack.js';
import type { Generator } from '../../engine/ops/random.js';
import { runtime } from '../../engine/runtime.js';
import { scope, type Tensor } from '../../engine/tensor.js';
import type { ResNet } from '../../models/resnet.js';
import { gradientOf, randomStart, withFrozenModel } from '../attacks.js';
import type { AdversarialConfig } from './spec.js';

/**
 * Adversarial examples for a training batch: clean f32 [N, H, W, 3] in [0, 1], labels i32 [N], at
 * radius `eps` (the warm-up's current ε; the step shrinks in proportion). Returns a new tensor in the
 * ε-ball around clean and in [0, 1]; ε = 0 returns a view of clean. The model's parameters get no
 * gradient and its buffers are unchanged.
 */
export function adversarialExamples(model: ResNet, clean: Tensor, labels: Tensor, config: AdversarialConfig, eps: number, generator: Generator): Tensor {
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`adversarial training: ε must be a finite number ≥ 0, got ${eps}`);
  if (eps === 0) return clean.view(clean.shape);
  const stepSize = (config.stepSize * eps) / config.eps;
  const mode = config.norm === 'linf' ? 'sign' : 'unit';
  return model.preservingBuffers(() => withFrozenModel(model, () => {
    let x = scope(() => randomStart(clean, { norm: config.norm, eps }, generator));
    for (let t = 0; t < config.steps; t++) {
      const next = scope(() => projectedStep(x, gradientOf(model, x, labels), clean, { norm: config.norm, eps, stepSize, mode }));
      x.dispose();
      x = next;
      runtime().flush();
    }
    return x;
  }, 'train'));
}
