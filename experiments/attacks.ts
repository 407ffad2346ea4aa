// White-box attacks (docs/method.md §7): FGSM and PGD under L∞ or L2, in [0, 1] pixel space, on input
// gradients of the cross-entropy through the model in eval mode (batch-norm running statistics, so
// every sample's gradient depends on that sample alone). A batch is attacked entirely on the GPU:
// every step of every restart is recorded without a read-back; a robustness curve over a dataset
// reads back once per batch. Platform-neutral (the CLI in experiments/cli/attack.ts writes files).
import { backward, noGrad } from '../engine/autograd.js';
import { imagesToFloat, uploadImagesU8 } from '../engine/ops/augment.js';
import { projectedStep, selectSamples, type AttackNorm } from '../engine/ops/attack.js';
import { mapRaw, mulRaw } from '../engine/ops/elementwise.js';
import { crossEntropyPerSample, predictions } from '../engine/ops/loss.js';
import { Generator, defaultGenerator, rand, randn } from '../engine/ops/random.js';
import { sum } from '../engine/ops/reduce.js';
import type { Module } from '../engine/nn.js';
import { runtime } from '../engine/runtime.js';
import { scope, tensor, type Tensor } from '../engine/tensor.js';
import { batchCount, batches, type ImageDataset } from './data/dataset.js';

export type { AttackNorm };
export const ATTACK_NORMS: readonly AttackNorm[] = ['linf', 'l2'];
export const DEFAULT_STEPS = 20;

/** A model the attacks can drive: a Module mapping [N, H, W, 3] pixels in [0, 1] to logits. */
export type Classifier = Module & { forward(x: Tensor): { logits: Tensor } };

/** Step size per ε: a fixed value, or a multiple of ε (so one rule serves a whole ε grid). */
export type StepSizeRule = { kind: 'absolute'; value: number } | { kind: 'relative'; factor: number };

export interface AttackOptions {
  norm: AttackNorm;
  /** Radius of the threat model in pixel units (≥ 0). */
  eps: number;
  /** Gradient steps of PGD (default 20). FGSM always takes one. */
  steps?: number;
  /** Default: ε/4 for L∞ (docs/method.md §7), 2.5·ε/steps for L2; FGSM always steps by ε. */
  stepSize?: StepSizeRule;
  /** Independent runs per sample; a sample is robust only if every one fails (default 1). */
  restarts?: number;
  /** Start each restart at a uniform random point of the ε-ball (default true; never for FGSM). */
  randomStart?: boolean;
  /** One step of size ε from the clean point (L2: along the normalised gradient). */
  fgsm?: boolean;
}

/** An attack with every default filled in. */
export interface Attack {
  method: 'pgd' | 'fgsm';
  norm: AttackNorm;
  eps: number;
  steps: number;
  stepSize: number;
  restarts: number;
  randomStart: boolean;
}

/** A bad attack setting; `field` names it (norm, eps, steps, stepSize, restarts). */
export class AttackConfigError extends Error {
  constructor(readonly field: 'norm' | 'eps' | 'steps' | 'stepSize' | 'restarts', message: string) {
    super(message);
    this.name = 'AttackConfigError';
  }
}

export function defaultStepSize(norm: AttackNorm, steps: number): StepSizeRule {
  return { kind: 'relative', factor: norm === 'linf' ? 0.25 : 2.5 / steps };
}

export function describeStepSize(rule: StepSizeRule): string {
  return rule.kind === 'absolute' ? String(rule.value) : `${Number(rule.factor.toPrecision(6))}·ε`;
}

/** Validates and fills defaults; throws AttackConfigError naming the bad setting. */
export function resolveAttack(options: AttackOptions): Attack {
  const { norm, eps, fgsm = false } = options;
  if (!ATTACK_NORMS.includes(norm)) throw new AttackConfigError('norm', `unknown norm '${norm}' (expected ${ATTACK_NORMS.join(' or ')})`);
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) throw new AttackConfigError('eps', `ε must be a finite number ≥ 0, got ${eps}`);
  const steps = options.steps ?? DEFAULT_STEPS;
  if (!Number.isInteger(steps) || steps < 1) throw new AttackConfigError('steps', `steps must be an integer ≥ 1, got ${steps}`);
  const restarts = options.restarts ?? 1;
  if (!Number.isInteger(restarts) || restarts < 1) throw new AttackConfigError('restarts', `restarts must be an integer ≥ 1, got ${restarts}`);
  const rule = options.stepSize ?? defaultStepSize(norm, steps);
  const ruleValue = rule.kind === 'absolute' ? rule.value : rule.factor;
  if (!Number.isFinite(ruleValue) || ruleValue <= 0) throw new AttackConfigError('stepSize', `step size must be a finite number > 0, got ${describeStepSize(rule)}`);
  if (fgsm) return { method: 'fgsm', norm, eps, steps: 1, stepSize: eps, restarts: 1, randomStart: false };
  const stepSize = rule.kind === 'absolute' ? rule.value : rule.factor * eps;
  return { method: 'pgd', norm, eps, steps, stepSize, restarts, randomStart: options.randomStart ?? true };
}

/**
 * Runs fn with the model in eval mode (or training mode: batch statistics, as adversarial training
 * attacks) and its parameters out of autograd (input gradients only).
 */
export function withFrozenModel<T>(model: Classifier, fn: () => T, mode: 'eval' | 'train' = 'eval'): T {
  const wasTraining = model.training;
  const params = model.parameters();
  const flags = params.map((p) => p.requiresGrad);
  model.train(mode === 'train');
  params.forEach((p) => (p.requiresGrad = false));
  try {
    return fn();
  } finally {
    params.forEach((p, i) => (p.requiresGrad = flags[i]));
    model.train(wasTraining);
  }
}

/** ∇ₓ Σₙ CE(model(x)ₙ, yₙ) in the model's current mode; the caller keeps parameters out of autograd. */
export function gradientOf(model: Classifier, x: Tensor, labels: Tensor): Tensor {
  return scope(() => {
    const leaf = x.view(x.shape);
    leaf.requiresGrad = true;
    backward(sum(crossEntropyPerSample(model.forward(leaf).logits, labels)));
    const g = leaf.grad!;
    leaf.grad = null;
    // A fresh handle so the gradient belongs to the caller's scope (leaf gradients are kept).
    const out = g.view(g.shape);
    g.dispose();
    return out;
  });
}

/**
 * ∇ₓ Σₙ CE(model(x)ₙ, yₙ) in eval mode, with the parameters excluded from autograd (nothing is
 * accumulated into their .grad). Row n is the gradient of sample n's own loss.
 */
export function inputGradient(model: Classifier, x: Tensor, labels: Tensor): Tensor {
  return withFrozenModel(model, () => gradientOf(model, x, labels));
}

export interface BatchAttackResult {
  /** The worst case found per sample (see attackBatch), [N, H, W, C] in [0, 1]. */
  adversarial: Tensor;
  /** 1 where the sample survived: correct at the clean point and at the end of every restart (f32 [N]). */
  correct: Tensor;
  /** Predicted class at `adversarial` (i32 [N]). */
  predicted: Tensor;
  /** 1 where the clean image is classified correctly (f32 [N]), and its predicted class (i32 [N]). */
  cleanCorrect: Tensor;
  cleanPredicted: Tensor;
}

// ε·U^(1/d) with U uniform in (0, 1]: the radius of a uniform point of the d-dimensional ball.
const BALL_RADIUS = { name: 'ball_radius', arity: 1 as const, expr: 'params.s0 * pow(T(1.0) - a, T(params.s1))' };

/** A uniform random point of the ε-ball around clean (L∞: per element; L2: by radius), clipped to [0, 1]. */
export function randomStart(clean: Tensor, attack: Pick<Attack, 'norm' | 'eps'>, generator: Generator): Tensor {
  const { norm, eps } = attack;
  if (norm === 'linf') {
    const u = rand(clean.shape, { lo: -eps, hi: eps, generator });
    return projectedStep(clean, u, clean, { norm, eps, stepSize: 1, mode: 'raw' });
  }
  const N = clean.shape[0];
  const z = randn(clean.shape, { generator });
  const radius = mapRaw(BALL_RADIUS, [rand([N], { generator })], eps, N === 0 ? 1 : N / clean.size);
  return projectedStep(clean, z, clean, { norm, eps, stepSize: 1, mode: 'unit', scale: radius });
}

/** How the model classifies a batch's clean images, when the caller already knows (f32 [N] 1/0, i32 [N]). */
export interface CleanClassification {
  correct: Tensor;
  predicted: Tensor;
}

/**
 * Attacks one batch (clean: [N, H, W, C] in [0, 1], labels i32 [N]); records GPU work only.
 *
 * Worst case over restarts, starting from the clean point: a sample misclassified when clean keeps
 * its clean image; otherwise each restart's end point replaces the kept one until a restart
 * misclassifies the sample, whose example is then kept. So `correct` is 1 exactly for samples that
 * every restart failed to flip. ε = 0 returns the clean images themselves. `known` spares the
 * forward pass that classifies the clean images.
 */
export function attackBatch(model: Classifier, clean: Tensor, labels: Tensor, attack: Attack, generator: Generator = defaultGenerator, known?: CleanClassification): BatchAttackResult {
  if (clean.rank !== 4 || labels.rank !== 1 || labels.shape[0] !== clean.shape[0]) throw new Error(`attack: expected images [N, H, W, C] and labels [N], got ${clean.describe()} and ${labels.describe()}`);
  const N = clean.shape[0];
  if (known && (known.correct.rank !== 1 || known.correct.shape[0] !== N || known.predicted.rank !== 1 || known.predicted.shape[0] !== N)) throw new Error(`attack: the known clean classification must be [${N}], got ${known.correct.describe()} and ${known.predicted.describe()}`);
  return withFrozenModel(model, () => scope(() => {
    const classify = (x: Tensor) => noGrad(() => scope(() => predictions(model.forward(x).logits, labels)));
    const cleanResult = known ? { correct: known.correct.view([N]), predicted: known.predicted.view([N]) } : classify(clean);
    if (attack.eps === 0) return { adversarial: clean.view(clean.shape), correct: cleanResult.correct, predicted: cleanResult.predicted, cleanCorrect: cleanResult.correct.view([N]), cleanPredicted: cleanResult.predicted.view([N]) };
    const mode = attack.norm === 'linf' ? 'sign' : 'unit';
    let best = clean.view(clean.shape);
    let bestCorrect = cleanResult.correct.view([N]);
    for (let r = 0; r < attack.restarts; r++) {
      let x = attack.randomStart ? scope(() => randomStart(clean, attack, generator)) : clean.view(clean.shape);
      for (let t = 0; t < attack.steps; t++) {
        const next = scope(() => projectedStep(x, gradientOf(model, x, labels), clean, { norm: attack.norm, eps: attack.eps, stepSize: attack.stepSize, mode }));
        x.dispose();
        x = next;
        // Submit each step as it is recorded so the GPU works while the next one is encoded.
        runtime().flush();
      }
      // Samples still correct take this restart's end point; the others keep their misclassified one.
      const nextBest = selectSamples(bestCorrect, x, best);
      [best, x].forEach((t) => t.dispose());
      best = nextBest;
      if (r === attack.restarts - 1) break;
      const nextCorrect = mulRaw(bestCorrect, classify(best).correct);
      bestCorrect.dispose();
      bestCorrect = nextCorrect;
    }
    // One pass gives the verdict and the prediction: a kept misclassified example classifies as
    // wrong again (each row's logits depend on that row alone), so this equals
    // "correct before this restart and at its end point".
    const { correct, predicted } = classify(best);
    bestCorrect.dispose();
    return { adversarial: best, correct, predicted, cleanCorrect: cleanResult.correct, cleanPredicted: cleanResult.predicted };
  }));
}

// ---- robustness curves over a dataset -------------------------------------------------------------

export interface CurveOptions extends Omit<AttackOptions, 'eps'> {
  /** The ε grid (each ≥ 0). */
  eps: number[];
  batchSize: number;
  /** Seed of the random starts (each ε draws from its own stream). */
  seed?: number;
  /**
   * Attack at each ε only the images that survived every smaller ε of the grid (default true). An
   * image misclassified when clean, or by the attack at a smaller ε, is broken at every larger ε too:
   * the example that broke it lies in every larger ball. So an image is robust at ε only if no attack
   * up to ε broke it, and the attacks whose outcome is known are not run. False attacks every image
   * at every ε on its own.
   */
  skipBroken?: boolean;
  /** Keep this many examples of the attack at the largest ε (one per class first, in dataset order; see pickExamples). */
  examples?: number;
  onBatch?: (done: number, total: number) => void;
}

export interface CurvePoint {
  eps: number;
  stepSize: number;
  accuracy: number;
  correct: number;
  n: number;
}

export interface AttackExamples {
  eps: number;
  height: number;
  width: number;
  /** K·H·W·3 floats each, NHWC. */
  clean: Float32Array;
  adversarial: Float32Array;
  labels: Int32Array;
  cleanPredicted: Int32Array;
  adversarialPredicted: Int32Array;
  classNames?: readonly string[];
}

export interface RobustnessCurve {
  attacks: Attack[];
  points: CurvePoint[];
  cleanAccuracy: number;
  /** See accuracyArea. */
  auc: number;
  aucNormalized: number;
  samples: number;
  seconds: number;
  examples?: AttackExamples;
}

/**
 * Area under accuracy(ε) by the trapezoid rule over the points sorted by ε:
 *   auc = Σₖ (εₖ₊₁ − εₖ)·(aₖ + aₖ₊₁)/2,   normalized = auc / (ε_max − ε_min),
 * i.e. the mean accuracy over [ε_min, ε_max] with linear interpolation between grid points (for a
 * one-point grid: auc = 0 and normalized = that accuracy). auc has units of ε; normalized is in [0, 1].
 */
export function accuracyArea(points: readonly { eps: number; accuracy: number }[]): { auc: number; normalized: number } {
  if (points.length === 0) return { auc: NaN, normalized: NaN };
  const sorted = [...points].sort((a, b) => a.eps - b.eps);
  let auc = 0;
  for (let k = 0; k + 1 < sorted.length; k++) auc += ((sorted[k + 1].eps - sorted[k].eps) * (sorted[k].accuracy + sorted[k + 1].accuracy)) / 2;
  const range = sorted[sorted.length - 1].eps - sorted[0].eps;
  return { auc, normalized: range > 0 ? auc / range : sorted[0].accuracy };
}

/** Up to k dataset indices, in dataset order: the first sample of each class, then the next ones. */
export function pickExamples(labels: ArrayLike<number>, k: number): number[] {
  const count = Math.max(0, Math.min(Math.floor(k), labels.length));
  const seen = new Set<number>();
  const first: number[] = [];
  for (let i = 0; i < labels.length && first.length < count; i++) {
    if (!seen.has(labels[i])) {
      seen.add(labels[i]);
      first.push(i);
    }
  }
  const taken = new Set(first);
  for (let i = 0; i < labels.length && taken.size < count; i++) taken.add(i);
  return [...taken].sort((a, b) => a - b);
}

const f32Bits = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];

/** Rows `keep` of a batch of NHWC u8 images. */
function pickRows(images: Uint8Array, labels: Int32Array, keep: readonly number[], pixels: number): { images: Uint8Array; labels: Int32Array } {
  if (keep.length === labels.length) return { images, labels };
  const out = new Uint8Array(keep.length * pixels);
  keep.forEach((n, k) => out.set(images.subarray(n * pixels, (n + 1) * pixels), k * pixels));
  return { images: out, labels: Int32Array.from(keep, (n) => labels[n]) };
}

/**
 * Robust accuracy at every ε of the grid over a dataset (in dataset order), ε ascending within each
 * batch. One read-back per ε and batch (which images survived), plus the images of any chosen
 * example the batch holds.
 */
export async function robustnessCurve(model: Classifier, data: ImageDataset, options: CurveOptions): Promise<RobustnessCurve> {
  const grid = options.eps;
  if (grid.length === 0) throw new AttackConfigError('eps', 'the ε grid is empty');
  const attacks = grid.map((eps) => resolveAttack({ ...options, eps }));
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new Error(`attack: batch size must be a positive integer, got ${options.batchSize}`);
  if (data.size === 0) throw new Error(`${data.name}: no samples to attack`);
  const seed = options.seed ?? 0;
  const skipBroken = options.skipBroken ?? true;
  const generators = grid.map((eps) => new Generator(seed, { stream: f32Bits(eps) }));
  const E = grid.length;
  const ascending = grid.map((_, e) => e).sort((a, b) => grid[a] - grid[b]);
  const largest = ascending[E - 1];
  const chosen = pickExamples(data.labels, options.examples ?? 0);
  const pixels = data.height * data.width * 3;
  const examples: AttackExamples | undefined = chosen.length === 0 ? undefined : {
    eps: grid[largest], height: data.height, width: data.width,
    clean: new Float32Array(chosen.length * pixels), adversarial: new Float32Array(chosen.length * pixels),
    labels: Int32Array.from(chosen, (i) => data.labels[i]), cleanPredicted: new Int32Array(chosen.length), adversarialPredicted: new Int32Array(chosen.length),
    classNames: data.classNames,
  };
  const slotOf = new Map(chosen.map((index, slot) => [index, slot]));
  const correct = new Float64Array(E);
  let cleanCorrect = 0;
  const total = batchCount(data.size, options.batchSize);
  const started = performance.now();
  let done = 0;
  for await (const batch of batches(data, options.batchSize)) {
    const N = batch.count;
    const upload = (rows: { images: Uint8Array }, count: number) => {
      const shape = [count, data.height, data.width, 3];
      return imagesToFloat(uploadImagesU8(rows.images, shape), shape);
    };
    // [slot, row] of the examples that fall in this batch.
    const slots = Array.from(batch.indices, (index, n) => [slotOf.get(index), n]).filter((r): r is [number, number] => r[0] !== undefined);
    const classified = noGrad(() => withFrozenModel(model, () => scope(() => predictions(model.forward(upload(batch, N)).logits, tensor(batch.labels)))));
    const clean = { ok: await classified.correct.toArray(), predicted: await classified.predicted.toArray() };
    [classified.correct, classified.predicted].forEach((t) => t.dispose());
    for (let n = 0; n < N; n++) cleanCorrect += clean.ok[n];
    for (const [slot, n] of slots) {
      examples!.clean.set(Float32Array.from(batch.images.subarray(n * pixels, (n + 1) * pixels), (v) => v / 255), slot * pixels);
      examples!.adversarial.set(examples!.clean.subarray(slot * pixels, (slot + 1) * pixels), slot * pixels);
      examples!.cleanPredicted[slot] = examples!.adversarialPredicted[slot] = clean.predicted[n];
    }
    const everyRow = Array.from({ length: N }, (_, n) => n);
    let alive = everyRow.filter((n) => clean.ok[n] === 1);
    for (const e of ascending) {
      const attack = attacks[e];
      // ε = 0 is the clean image itself; with skipBroken only the survivors so far are attacked.
      const targets = attack.eps === 0 || skipBroken ? alive : everyRow;
      let survivors: number[] = [];
      if (attack.eps === 0) survivors = alive;
      else if (targets.length > 0) {
        const rows = pickRows(batch.images, batch.labels, targets, pixels);
        const watched = slots.filter(([, n]) => targets.includes(n));
        const known = { correct: tensor(Float32Array.from(targets, (n) => clean.ok[n])), predicted: tensor(Int32Array.from(targets, (n) => clean.predicted[n])) };
        const result = scope(() => {
          const r = attackBatch(model, upload(rows, targets.length), tensor(rows.labels), attack, generators[e], known);
          const keep = watched.length > 0 && (skipBroken || e === largest);
          if (!keep) r.adversarial.dispose();
          [r.cleanCorrect, r.cleanPredicted].forEach((t) => t.dispose());
          runtime().flush();
          return { correct: r.correct, predicted: r.predicted, adversarial: keep ? r.adversarial : null };
        });
        const ok = await result.correct.toArray();
        survivors = targets.filter((_, k) => ok[k] === 1);
        if (result.adversarial) {
          // The latest attack on an example is the one that broke it, or the largest ε it survived.
          const [adv, predicted] = [await result.adversarial.toArray(), await result.predicted.toArray()];
          for (const [slot, n] of watched) {
            const k = targets.indexOf(n);
            examples!.adversarial.set(adv.subarray(k * pixels, (k + 1) * pixels), slot * pixels);
            examples!.adversarialPredicted[slot] = predicted[k];
          }
        }
        Object.values(result).forEach((t) => t?.dispose());
        Object.values(known).forEach((t) => t.dispose());
      }
      correct[e] += survivors.length;
      if (skipBroken) alive = survivors;
    }
    options.onBatch?.(++done, total);
  }
  const n = data.size;
  const points = attacks.map((a, e) => ({ eps: a.eps, stepSize: a.stepSize, accuracy: correct[e] / n, correct: correct[e], n }));
  const { auc, normalized } = accuracyArea(points);
  return { attacks, points, cleanAccuracy: cleanCorrect / n, auc, aucNormalized: normalized, samples: n, seconds: (performance.now() - started) / 1000, examples };
}
