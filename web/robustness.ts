// The page's link to the robustness code: corruptions (experiments/corruptions) and attacks
// (experiments/attacks.ts). Everything the page needs from them goes through this file.
import type { Generator } from '../engine/ops/random.js';
import { tensor, type Tensor } from '../engine/tensor.js';
import { attackBatch, resolveAttack, type AttackNorm } from '../experiments/attacks.js';
import { corrupt } from '../experiments/corruptions/index.js';
import { CORRUPTION_NAMES, type CorruptionName, type ParameterSet } from '../experiments/corruptions/types.js';
import type { ResNet } from '../models/resnet.js';

export { CORRUPTION_NAMES, type CorruptionName };


/** One corrupted copy of an f32 NHWC [1, H, W, 3] image in [0, 1]. */
export async function corruptImage(image: Tensor, name: CorruptionName, severity: number, generator: Generator, parameters: ParameterSet = 'cifar10'): Promise<Tensor> {
  // Frost uses its procedural textures here: the page ships no photographs.
  return corrupt(image, name, severity, { generator, parameters });
}

export interface PgdResult {
  adversarial: Float32Array;
  cleanPredicted: number;
  adversarialPredicted: number;
}

/** PGD on one image (f32 NHWC [1, H, W, 3] in [0, 1]) with its true label. */
export async function pgdImage(model: ResNet, image: Float32Array, shape: number[], label: number, options: { norm: AttackNorm; eps: number; steps: number }, generator: Generator): Promise<PgdResult> {
  const attack = resolveAttack({ norm: options.norm, eps: options.eps, steps: options.steps });
  const clean = tensor(image, shape);
  const labels = tensor(Int32Array.of(label));
  const result = attackBatch(model, clean, labels, attack, generator);
  const [adversarial, predicted, cleanPredicted] = await Promise.all([result.adversarial.toArray(), result.predicted.toArray(), result.cleanPredicted.toArray()]);
  [result.adversarial, result.correct, result.predicted, result.cleanCorrect, result.cleanPredicted, clean, labels].forEach((t) => t.dispose());
  return { adversarial: adversarial as Float32Array, cleanPredicted: cleanPredicted[0], adversarialPredicted: predicted[0] };
}
