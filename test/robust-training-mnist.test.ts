// Robust training works on MNIST (docs/robust-training.md): with the same seed, data and number of
// steps as a standard run, PGD-AT (L∞, 7 steps, ε warm-up) raises PGD-20 accuracy at the training ε
// by ≥ 40 points and keeps clean accuracy ≥ 90%, and corruption augmentation raises accuracy on the
// augmented corruption clearly above the standard run (a conservative one-sided test at the 5% level). A small ResNet and 4096 digits keep it within
// CI's budget, at ε = 0.2; ROBUST_TRAINING_LONG=1 runs a longer variant at ε = 0.3 (more digits and
// epochs, and FGSM-RS as well). Which way SI moves is printed, not asserted: it is a finding, not a property.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Generator } from '../engine/ops/random.js';
import { ResNet } from '../models/resnet.js';
import { robustnessCurve } from '../experiments/attacks.js';
import { evaluateCorruptions } from '../experiments/corruption-eval.js';
import type { CorruptionName } from '../experiments/corruptions/types.js';
import { subset } from '../experiments/data/dataset.js';
import { openDataset } from '../experiments/datasets.js';
import { MemoryStore } from '../experiments/io/store.js';
import { NORMALIZATION } from '../experiments/models.js';
import { parseAdversarialSpec } from '../experiments/robust/spec.js';
import { train, type TrainConfig, type TrainResult } from '../experiments/train.js';
import { setupGpu } from './helpers.js';

test.before(setupGpu);

const LONG = process.env.ROBUST_TRAINING_LONG === '1';
const budget = LONG
  ? { train: 8192, test: 500, epochs: 4, warmup: 1, attackSamples: 500 }
  : { train: 4096, test: 256, epochs: 3, warmup: 1, attackSamples: 200 };
/**
 * The training (and test) ε: 0.2 within CI's budget; the long variant uses the classic MNIST 0.3.
 * (With 2 epochs at 0.3, PGD-AT reached 65% PGD-20 accuracy, +65 points, but only 80% clean.)
 */
const EPS = LONG ? 0.3 : 0.2;
/** The corruption the augmentation test trains on and evaluates (one of the 4 extras). */
const AUGMENTED: CorruptionName = 'gaussian_blur';

const config: TrainConfig = {
  model: 'resnet20', shortcut: 'A', data: 'mnist', epochs: budget.epochs, batchSize: 32, lr: 0.2, schedule: 'cosine', milestones: [0.5, 0.75],
  momentum: 0.9, weightDecay: 5e-4, nesterov: false, seed: 1, alpha: 0, augmentPadding: 0, augmentFlip: false,
  limitTrain: budget.train, limitTest: budget.test, evalBatchSize: 256,
};
const smallResNet = (generator: Generator) => new ResNet({ widths: [8, 16, 32], depths: [1, 1, 1], numClasses: 10, shortcut: 'A', ...NORMALIZATION.mnist, init: { generator } });

const data = openDataset('mnist', { limitTrain: budget.train, limitTest: budget.test });
const results = new Map<string, TrainResult>();

async function run(name: string, settings: Partial<TrainConfig>): Promise<TrainResult> {
  const d = await data;
  const started = performance.now();
  const result = await train({ ...config, ...settings }, { store: new MemoryStore(name), train: d.train, test: d.test, numClasses: 10, model: smallResNet, logEvery: 1000 });
  const last = result.epochs[result.epochs.length - 1];
  console.log(`  ${name}: clean ${(100 * result.testAccuracy).toFixed(1)}%, test SI ${last.testSelectivity.toFixed(4)}, train SI ${last.trainSelectivity.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  results.set(name, result);
  return result;
}

async function pgdAccuracy(result: TrainResult): Promise<number> {
  const d = await data;
  const sample = subset(d.test, Array.from({ length: Math.min(budget.attackSamples, d.test.size) }, (_, i) => i));
  const curve = await robustnessCurve(result.model, sample, { norm: 'linf', eps: [EPS], steps: 20, batchSize: 200, seed: 3 });
  return curve.points[0].accuracy;
}

async function corruptedAccuracy(result: TrainResult): Promise<number> {
  const d = await data;
  const rows = await evaluateCorruptions(result.model, d.test, { corruptions: [AUGMENTED], severities: [1, 2, 3, 4, 5], batchSize: 256, generate: { seed: 5 } });
  const row = rows[AUGMENTED].filter((v): v is number => v !== null);
  return row.reduce((a, b) => a + b, 0) / row.length;
}

test(`PGD-AT (L∞ ε = ${EPS}, 7 steps, ε warm-up) raises PGD-20 accuracy by ≥ 40 points and keeps clean accuracy ≥ 90%`, async () => {
  const standard = await run('standard', {});
  const robust = await run('PGD-AT', { adversarial: parseAdversarialSpec(`pgd:linf:${EPS}:steps=7`, budget.warmup) });
  const [standardPgd, robustPgd] = [await pgdAccuracy(standard), await pgdAccuracy(robust)];
  console.log(`  PGD-20 at ε = ${EPS}: standard ${(100 * standardPgd).toFixed(1)}%, PGD-AT ${(100 * robustPgd).toFixed(1)}%`);
  assert.ok(robustPgd - standardPgd >= 0.4, `PGD-20 accuracy rose by ${(100 * (robustPgd - standardPgd)).toFixed(1)} points (${standardPgd} → ${robustPgd})`);
  assert.ok(robust.testAccuracy >= 0.9, `PGD-AT clean accuracy ${robust.testAccuracy}`);
  if (LONG) {
    const fast = await run('FGSM-RS', { adversarial: parseAdversarialSpec(`fgsm-rs:linf:${EPS}`, budget.warmup) });
    console.log(`  FGSM-RS: PGD-20 at ε = ${EPS} ${(100 * (await pgdAccuracy(fast))).toFixed(1)}%`);
  }
});

test(`corruption augmentation with ${AUGMENTED} raises accuracy under it clearly above the standard run`, async () => {
  const standard = results.get('standard') ?? (await run('standard', {}));
  const augmented = await run('corruption-aug', { augmentCorruptions: { corruptions: [AUGMENTED], p: 0.5 } });
  const [before, after] = [await corruptedAccuracy(standard), await corruptedAccuracy(augmented)];
  console.log(`  ${AUGMENTED}, mean over severities 1–5: standard ${(100 * before).toFixed(1)}%, augmented ${(100 * after).toFixed(1)}%`);
  // "Clearly above" as a one-sided test at the 5% level, made conservative twice: each image counts
  // once (its 5 severities are correlated, and the variance of their mean accuracy is at most that of
  // one Bernoulli draw with the same mean), and the two runs are treated as unpaired although they
  // see the same images.
  const n = budget.test;
  const pooled = (before + after) / 2;
  const z = (after - before) / Math.sqrt((pooled * (1 - pooled) * 2) / n);
  console.log(`  conservative two-proportion z = ${z.toFixed(2)} over ${n} images (one-sided 5% level: 1.645)`);
  assert.ok(z >= 1.645, `accuracy under ${AUGMENTED} did not rise clearly: ${(100 * before).toFixed(1)}% → ${(100 * after).toFixed(1)}%, z = ${z.toFixed(2)} < 1.645`);
});

test.after(() => {
  for (const r of results.values()) r.model.dispose();
});

test.run();
