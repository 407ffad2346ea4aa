// Step-by-step training for the page: the training loop's step (GPU augmentation → optional
// corruption augmentation or adversarial examples → ResNet → CE − α·SI → backward → SGD) with every
// step's loss, accuracy and minibatch SI read back for the live charts, and a stop button between
// steps. Evaluation and checkpoints reuse experiments/ unchanged.
import { noGrad } from '../engine/autograd.js';
import { imagesToFloat, uploadImagesU8 } from '../engine/ops/augment.js';
import { Generator } from '../engine/ops/random.js';
import { SGD } from '../engine/optim.js';
import { scope } from '../engine/tensor.js';
import type { ResNet } from '../models/resnet.js';
import { encodeCheckpoint } from '../experiments/checkpoint.js';
import { batches, type Batch } from '../experiments/data/dataset.js';
import { createModel } from '../experiments/models.js';
import { parseAdversarialSpec, parseAugmentSpec, type AdversarialConfig, type AugmentCorruptionsConfig } from '../experiments/robust/spec.js';
import { ADVERSARIAL_STREAM, CORRUPTION_AUGMENT_STREAM, robustTrainingRecord, trainingStep } from '../experiments/train.js';
import type { PageDataset } from './data.js';

/** The page's training regimes (docs/robust-training.md): what `train` does without, with --adversarial or with --augment-corruptions. */
export const PAGE_REGIMES = ['standard', 'pgd', 'fgsm-rs', 'corruption-aug'] as const;
export type PageRegime = (typeof PAGE_REGIMES)[number];

/** The settings a regime trains with: L∞ PGD-7 or FGSM-RS at ε, or the 4 extra corruptions with p = 0.5. */
export function regimeSettings(regime: PageRegime, eps: number): { adversarial: AdversarialConfig | null; augmentCorruptions: AugmentCorruptionsConfig | null } {
  if (!(PAGE_REGIMES as readonly string[]).includes(regime)) throw new Error(`unknown training regime '${regime}'; expected ${PAGE_REGIMES.join(', ')}`);
  return {
    adversarial: regime === 'pgd' ? parseAdversarialSpec(`pgd:linf:${eps}`, 0, 'regime') : regime === 'fgsm-rs' ? parseAdversarialSpec(`fgsm-rs:linf:${eps}`, 0, 'regime') : null,
    augmentCorruptions: regime === 'corruption-aug' ? parseAugmentSpec('extra') : null,
  };
}

export interface PageTrainConfig {
  alpha: number;
  regime: PageRegime;
  /** L∞ radius of the adversarial regimes (ignored by the others). */
  eps: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  seed: number;
  /**
   * Optimizer steps over which ε ramps linearly from ε/warmupSteps to ε (the adversarial regimes;
   * 0 for none). The page's counterpart of `train --adversarial-warmup`, in steps rather than
   * epochs; it is recorded with the rest of this config in the checkpoint.
   */
  warmupSteps: number;
}

export interface StepMetrics {
  step: number;
  /** Cross-entropy of the minibatch (the regularizer's term is not included). */
  loss: number;
  accuracy: number;
  /** Minibatch mean class selectivity (the SI the regularizer weighs with α). */
  selectivity: number;
  lr: number;
  milliseconds: number;
}

export class PageTrainer {
  readonly model: ResNet;
  readonly optimizer: SGD;
  readonly history: StepMetrics[] = [];
  private readonly augment: Generator;
  private readonly adversarialGenerator: Generator;
  private readonly corruptionGenerator: Generator;
  readonly settings: ReturnType<typeof regimeSettings>;
  private epoch = 0;
  private iterator: AsyncGenerator<Batch, void, undefined> | null = null;

  constructor(readonly data: PageDataset, readonly config: PageTrainConfig) {
    if (data.train.size < config.batchSize) throw new Error(`${data.train.size} training images are fewer than one batch of ${config.batchSize}`);
    this.model = createModel({ model: 'resnet20', dataset: data.name, numClasses: data.numClasses, shortcut: 'A' }, new Generator(config.seed, { stream: 0 }));
    this.optimizer = new SGD(this.model.parameters(), { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay });
    this.augment = new Generator(config.seed, { stream: 1 });
    this.adversarialGenerator = new Generator(config.seed, { stream: ADVERSARIAL_STREAM });
    this.corruptionGenerator = new Generator(config.seed, { stream: CORRUPTION_AUGMENT_STREAM });
    this.settings = regimeSettings(config.regime, config.eps);
  }

  get steps(): number {
    return this.history.length;
  }

  private async nextBatch(): Promise<Batch> {
    for (;;) {
      this.iterator ??= batches(this.data.train, this.config.batchSize, { shuffle: true, seed: this.config.seed, epoch: this.epoch, dropLast: true });
      const next = await this.iterator.next();
      if (!next.done) return next.value;
      this.iterator = null;
      this.epoch++;
    }
  }

  /** ε's share at the next step: (steps taken + 1)/warmupSteps during the warm-up, then 1. */
  get epsScale(): number {
    const { warmupSteps } = this.config;
    return warmupSteps > 0 ? Math.min(1, (this.history.length + 1) / warmupSteps) : 1;
  }

  /** One optimizer step at learning rate lr (and, for the adversarial regimes, radius epsScale·ε); resolves once its metrics are read back. */
  async step(lr = this.config.lr): Promise<StepMetrics> {
    const epsScale = this.epsScale;
    const started = performance.now();
    const batch = await this.nextBatch();
    const { data, config, model, optimizer } = this;
    const n = batch.count;
    optimizer.lr = lr;
    model.train();
    const stats = scope(() => {
      const { adversarial, augmentCorruptions } = this.settings;
      const { ce, correct, si } = trainingStep(model, optimizer, batch, [data.train.height, data.train.width], {
        alpha: config.alpha, numClasses: data.numClasses, padding: data.augment.padding, flip: data.augment.flip, generator: this.augment,
        adversarial: adversarial && { config: adversarial, eps: epsScale * adversarial.eps, generator: this.adversarialGenerator },
        corruptions: augmentCorruptions && { config: augmentCorruptions, generator: this.corruptionGenerator },
      });
      return [ce, correct, si].map((t) => t.keep());
    });
    const [loss, correct, selectivity] = await Promise.all(stats.map((t) => t.item()));
    stats.forEach((t) => t.dispose());
    const metrics = { step: this.history.length + 1, loss, accuracy: correct / n, selectivity, lr, milliseconds: performance.now() - started };
    this.history.push(metrics);
    return metrics;
  }

  /** The model as a safetensors checkpoint the Node CLI can evaluate (`eval --checkpoint`). */
  async checkpoint(): Promise<Uint8Array> {
    const config = { model: 'resnet20', shortcut: 'A', data: this.data.name, numClasses: this.data.numClasses, ...this.config, ...robustTrainingRecord(this.settings), steps: this.steps, trainedIn: 'browser' };
    return encodeCheckpoint(this.model, null, null, config, this.data.classNames);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}

/** Logits of images [start, start + count) of a dataset in eval mode (for the viewer and tests). */
export async function inferBatch(model: ResNet, images: Uint8Array, count: number, height: number, width: number): Promise<Float32Array> {
  const wasTraining = model.training;
  model.eval();
  const logits = noGrad(() => scope(() => {
    const shape = [count, height, width, 3];
    return model.forward(imagesToFloat(uploadImagesU8(images, shape), shape)).logits.keep();
  }));
  const values = (await logits.toArray()) as Float32Array;
  logits.dispose();
  model.train(wasTraining);
  return values;
}
