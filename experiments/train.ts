// The training loop: one command buffer per step (upload → GPU augmentation → forward → loss →
// backward → SGD), metrics accumulated on the GPU and read back every few steps, checkpoints that
// let a killed run resume bit-for-bit, and per-epoch evaluation. Platform-neutral: files go through
// a RunStore, progress through a callback.
import { backward, noGrad } from '../engine/autograd.js';
import { GpuError, gpu } from '../engine/device.js';
import { augmentImages, imagesToFloat, uploadImagesU8 } from '../engine/ops/augment.js';
import { addRaw, mulScalar, scaleRaw, sub } from '../engine/ops/elementwise.js';
import { full } from '../engine/ops/fill.js';
import { convTapWindow, setConvTapWindow } from '../engine/ops/conv.js';
import { gemmSplitTarget, gemmTile } from '../engine/ops/gemm.js';
import { crossEntropy, crossEntropyPerSample, predictions } from '../engine/ops/loss.js';
import { Generator } from '../engine/ops/random.js';
import { sum } from '../engine/ops/reduce.js';
import { SGD } from '../engine/optim.js';
import { scope, tensor, type Tensor } from '../engine/tensor.js';
import type { ResNet } from '../models/resnet.js';
import { NonFiniteTensorError, decodeCheckpoint, encodeCheckpoint, restoreCheckpoint, type TrainingPosition } from './checkpoint.js';
import { batchCount, batches, type Batch, type ImageDataset } from './data/dataset.js';
import { resultJson } from './io/result-json.js';
import type { RunStore } from './io/store.js';
import { createModel, type DatasetName, type ModelName } from './models.js';
import { SelectivityAccumulator, batchSelectivity, blockNames, type SelectivityReport } from './selectivity.js';
import { packageVersion } from './version.js';
import { CORRUPTION_NAMES, type CorruptionName } from './corruptions/types.js';
import { adversarialExamples } from './robust/adversarial.js';
import { applyCorruptionPlan, batchRandom, planCorruptions, reorderBatch } from './robust/corruption-augment.js';
import { adversarialEps, describeAdversarial, trainedOnCorruptions, type AdversarialConfig, type AugmentCorruptionsConfig } from './robust/spec.js';

export interface TrainConfig {
  model: ModelName;
  shortcut: 'A' | 'B';
  data: DatasetName;
  epochs: number;
  batchSize: number;
  lr: number;
  schedule: 'step' | 'cosine' | 'constant';
  /** Epoch fractions at which a step schedule divides the learning rate by 10. */
  milestones: number[];
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  seed: number;
  /** Selectivity regularizer weight: loss = CE − α·mean SI (0 = baseline). */
  alpha: number;
  augmentPadding: number;
  augmentFlip: boolean;
  limitTrain: number | null;
  limitTest: number | null;
  evalBatchSize: number;
  /** Adversarial training (PGD-AT or FGSM-RS; docs/robust-training.md); null or absent: clean examples. */
  adversarial?: AdversarialConfig | null;
  /** Corruption augmentation of the training samples; null or absent: none. */
  augmentCorruptions?: AugmentCorruptionsConfig | null;
}

/**
 * The robust-training fields as config.json records them (null where unused), plus
 * trainedOnCorruptions: the benchmark corruptions the run saw in training. A record written before
 * these fields existed reads as a standard run.
 */
export function robustTrainingRecord(c: { adversarial?: AdversarialConfig | null; augmentCorruptions?: AugmentCorruptionsConfig | null }): { adversarial: AdversarialConfig | null; augmentCorruptions: AugmentCorruptionsConfig | null; trainedOnCorruptions: CorruptionName[] } {
  return { adversarial: c.adversarial ?? null, augmentCorruptions: c.augmentCorruptions ?? null, trainedOnCorruptions: trainedOnCorruptions(c.augmentCorruptions) };
}

/** Generator streams of the training run (0: initialisation, 1: crop/flip augmentation). */
export const ADVERSARIAL_STREAM = 2;
export const CORRUPTION_AUGMENT_STREAM = 3;

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const MODEL_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const METRICS_FILE = 'metrics.csv';
export const RESULT_FILE = 'result.json';
export const SELECTIVITY_FILE = 'selectivity.json';

export interface EpochMetrics {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  /** Minibatch mean class selectivity over the epoch (the regularizer's SI). */
  trainSelectivity: number;
  testLoss: number;
  testAccuracy: number;
  /** Dataset-wide mean class selectivity on the test set. */
  testSelectivity: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface ProgressEvent {
  phase: 'train' | 'eval';
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss?: number;
  accuracy?: number;
  imagesPerSecond?: number;
  etaSeconds?: number;
}

export interface TrainIO {
  store: RunStore;
  train: ImageDataset;
  test: ImageDataset;
  numClasses: number;
  /** Extra facts recorded in config.json (data directory, test split, ...). */
  describe?: Record<string, unknown>;
  progress?: (event: ProgressEvent) => void;
  log?: (line: string) => void;
  /** Continue from the store's checkpoint (refusing a different configuration). */
  resume?: boolean;
  /** Steps between checkpoints within an epoch (0: only at epoch ends). */
  checkpointEvery?: number;
  /** Steps between metric read-backs (each one waits for the GPU). */
  logEvery?: number;
  /** Stop after this many steps of this call (tests simulating an interruption). */
  stopAfterSteps?: number;
  /** Checked before every step and every write: when aborted, training stops with its reason, writing nothing more. */
  signal?: AbortSignal;
  /** Builds the network instead of the config's model (soaks and tests use small ones). */
  model?: (generator: Generator) => ResNet;
}

/** Training produced a non-finite loss or non-finite weights; nothing from that point was saved. */
export class TrainingDivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingDivergedError';
  }
}

export interface TrainResult {
  config: TrainConfig;
  epochs: EpochMetrics[];
  testAccuracy: number;
  testLoss: number;
  finished: boolean;
  model: ResNet;
}

/** Learning rate at a fractional epoch (epoch + batch/steps). */
export function learningRate(config: TrainConfig, epochProgress: number): number {
  if (config.schedule === 'constant') return config.lr;
  if (config.schedule === 'cosine') return 0.5 * config.lr * (1 + Math.cos((Math.PI * epochProgress) / config.epochs));
  const passed = config.milestones.filter((m) => Math.floor(epochProgress) >= Math.floor(m * config.epochs)).length;
  return config.lr * 0.1 ** passed;
}

/** Checks every setting; errors start with `what` (the command, or the run of a sweep). */
export function validateConfig(c: TrainConfig, what = 'train'): void {
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new Error(`${what}: ${message}`);
  };
  check(Number.isInteger(c.epochs) && c.epochs >= 1, `--epochs must be a positive integer, got ${c.epochs}`);
  check(Number.isInteger(c.batchSize) && c.batchSize >= 2, `--batch-size must be an integer ≥ 2 (batch norm needs two samples), got ${c.batchSize}`);
  check(Number.isFinite(c.lr) && c.lr > 0, `--lr must be > 0, got ${c.lr}`);
  check(Number.isFinite(c.momentum) && c.momentum >= 0 && c.momentum < 1, `--momentum must be in [0, 1), got ${c.momentum}`);
  check(Number.isFinite(c.weightDecay) && c.weightDecay >= 0, `--weight-decay must be ≥ 0, got ${c.weightDecay}`);
  check(Number.isFinite(c.alpha) && Math.abs(c.alpha) <= 1e4, `--alpha must be a finite number with |α| ≤ 10000, got ${c.alpha}`);
  check(Number.isInteger(c.seed) && c.seed >= 0, `--seed must be a non-negative integer, got ${c.seed}`);
  check(c.milestones.every((m) => m > 0 && m < 1), `milestones must be fractions of the run in (0, 1), got ${c.milestones}`);
  check(Number.isInteger(c.augmentPadding) && c.augmentPadding >= 0, `--augment-padding must be a non-negative integer, got ${c.augmentPadding}`);
  check(Number.isInteger(c.evalBatchSize) && c.evalBatchSize >= 1, `--eval-batch-size must be a positive integer, got ${c.evalBatchSize}`);
  for (const [flag, v] of [['--limit-train', c.limitTrain], ['--limit-test', c.limitTest]] as const) check(v === null || (Number.isInteger(v) && v >= 1), `${flag} must be a positive integer, got ${v}`);
  if (c.adversarial) {
    const a = c.adversarial;
    check(a.method === 'pgd' || a.method === 'fgsm-rs', `--adversarial method must be pgd or fgsm-rs, got ${a.method}`);
    check(a.norm === 'linf' || a.norm === 'l2', `--adversarial norm must be linf or l2, got ${a.norm}`);
    check(Number.isFinite(a.eps) && a.eps > 0 && (a.norm !== 'linf' || a.eps <= 1), `--adversarial ε must be > 0 (and ≤ 1 for L∞), got ${a.eps}`);
    check(Number.isInteger(a.steps) && a.steps >= 1, `--adversarial steps must be an integer ≥ 1, got ${a.steps}`);
    check(Number.isFinite(a.stepSize) && a.stepSize > 0, `--adversarial step must be > 0, got ${a.stepSize}`);
    check(Number.isInteger(a.warmupEpochs) && a.warmupEpochs >= 0 && a.warmupEpochs <= c.epochs, `--adversarial-warmup must be an integer from 0 to --epochs (${c.epochs}), got ${a.warmupEpochs}`);
  }
  if (c.augmentCorruptions) {
    const { corruptions, p } = c.augmentCorruptions;
    check(corruptions.length > 0 && corruptions.every((n) => (CORRUPTION_NAMES as readonly string[]).includes(n)), `--augment-corruptions needs known corruption names, got ${corruptions.join(',') || 'none'}`);
    check(Number.isFinite(p) && p > 0 && p <= 1, `--augment-corruptions p must be in (0, 1], got ${p}`);
  }
}

/** Checks that `trainSize` samples give at least one (full) batch of `batchSize`. */
export function checkTrainSize(trainSize: number, batchSize: number, what = 'train'): void {
  if (batchCount(trainSize, batchSize, true) === 0) throw new Error(`${what}: ${trainSize} training samples are fewer than one batch of ${batchSize}`);
}

/**
 * Running training sums after each step since the last check (views sharing their buffers), so a
 * non-finite loss or selectivity, noticed at the next read-back, is traced to the step that first
 * produced it.
 */
class FinitenessTrail {
  private entries: { globalStep: number; epoch: number; batch: number; loss: Tensor; si: Tensor }[] = [];

  record(globalStep: number, epoch: number, batch: number, loss: Tensor, si: Tensor): void {
    this.entries.push({ globalStep, epoch, batch, loss: loss.view(loss.shape).keep(), si: si.view(si.shape).keep() });
  }

  /** null when the newest sums are finite; otherwise the first step whose sums are not. Empties the trail. */
  async firstNonFinite(): Promise<{ globalStep: number; epoch: number; batch: number; what: string; value: number } | null> {
    const entries = this.entries;
    this.entries = [];
    try {
      const newest = entries[entries.length - 1];
      if (!newest || (Number.isFinite(await newest.loss.item()) && Number.isFinite(await newest.si.item()))) return null;
      for (const e of entries) {
        const loss = await e.loss.item();
        const si = await e.si.item();
        if (!Number.isFinite(loss)) return { ...e, what: 'loss', value: loss };
        if (!Number.isFinite(si)) return { ...e, what: 'minibatch selectivity', value: si };
      }
      return null;
    } finally {
      for (const e of entries) {
        e.loss.dispose();
        e.si.dispose();
      }
    }
  }

  clear(): void {
    for (const e of this.entries) {
      e.loss.dispose();
      e.si.dispose();
    }
    this.entries = [];
  }
}

/** Keys whose change makes a checkpoint belong to a different run. */
function configDifferences(a: Record<string, unknown>, b: Record<string, unknown>, ignore: string[] = []): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !ignore.includes(k) && JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: ${JSON.stringify(b[k])} in the run vs ${JSON.stringify(a[k])} now`);
}

export function metricsCsv(rows: EpochMetrics[]): string {
  const header = 'epoch,lr,train_loss,train_acc,train_si,test_loss,test_acc,test_si,seconds,images_per_s';
  return [header, ...rows.map((r) => [r.epoch, r.lr, r.trainLoss, r.trainAccuracy, r.trainSelectivity, r.testLoss, r.testAccuracy, r.testSelectivity, r.seconds.toFixed(2), r.imagesPerSecond.toFixed(2)].join(','))].join('\n') + '\n';
}

function parseMetricsCsv(text: string): EpochMetrics[] {
  return text.trim().split('\n').slice(1).filter(Boolean).map((line) => {
    const [epoch, lr, trainLoss, trainAccuracy, trainSelectivity, testLoss, testAccuracy, testSelectivity, seconds, imagesPerSecond] = line.split(',').map(Number);
    return { epoch, lr, trainLoss, trainAccuracy, trainSelectivity, testLoss, testAccuracy, testSelectivity, seconds, imagesPerSecond };
  });
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  /** Dataset-wide selectivity (when asked for with numClasses). */
  selectivity?: SelectivityReport;
}

/** Test-set loss, accuracy and optionally class selectivity, in eval mode; read back at the end. */
export async function evaluate(model: ResNet, data: ImageDataset, batchSize: number, onBatch?: (done: number, total: number) => void, selectivityClasses?: number): Promise<Evaluation> {
  if (data.size === 0) throw new Error(`${data.name}: no samples to evaluate (an empty dataset gives no accuracy)`);
  const wasTraining = model.training;
  model.eval();
  let lossSum = full([1], 0).keep();
  let correctSum = full([1], 0).keep();
  const si = selectivityClasses ? new SelectivityAccumulator(selectivityClasses) : null;
  const total = batchCount(data.size, batchSize);
  let done = 0;
  for await (const batch of batches(data, batchSize)) {
    const next = noGrad(() => scope(() => {
      const shape = [batch.count, data.height, data.width, 3];
      const labels = tensor(batch.labels);
      const { logits, blocks } = model.forward(imagesToFloat(uploadImagesU8(batch.images, shape), shape));
      si?.add(blocks, labels);
      return [addRaw(lossSum, sum(crossEntropyPerSample(logits, labels))), addRaw(correctSum, sum(predictions(logits, labels).correct))];
    }));
    lossSum.dispose();
    correctSum.dispose();
    lossSum = next[0].keep();
    correctSum = next[1].keep();
    onBatch?.(++done, total);
  }
  const loss = (await lossSum.item()) / data.size;
  const accuracy = (await correctSum.item()) / data.size;
  lossSum.dispose();
  correctSum.dispose();
  const selectivity = si ? await si.report(blockNames(model)) : undefined;
  si?.dispose();
  model.train(wasTraining);
  return { loss, accuracy, selectivity };
}

/** Robust-training settings of one step: what the training loop (or the page) passes per step. */
export interface RobustStepOptions {
  /** Train on adversarial examples at radius eps (the warm-up's current ε), random starts from generator. */
  adversarial?: { config: AdversarialConfig; eps: number; generator: Generator } | null;
  /** Corrupt samples (choices and corruption randomness from generator). */
  corruptions?: { config: AugmentCorruptionsConfig; generator: Generator } | null;
}

/**
 * One SGD step on a batch: GPU augmentation (random crop with `padding`, flips), then optionally
 * corruption augmentation and the adversarial example search, forward, loss CE − α·SI (on the
 * examples trained on), backward, update. Returns the batch's mean cross-entropy, its correct count
 * and its minibatch SI, in the caller's scope.
 */
export function trainingStep(model: ResNet, optimizer: SGD, batch: Pick<Batch, 'images' | 'labels' | 'count'>, [height, width]: [number, number], o: { alpha: number; numClasses: number; padding: number; flip: boolean; generator: Generator } & RobustStepOptions): { ce: Tensor; correct: Tensor; si: Tensor } {
  const shape = [batch.count, height, width, 3];
  const plan = o.corruptions ? planCorruptions(batch.count, o.corruptions.config, batchRandom(o.corruptions.generator)) : null;
  const samples = plan ? reorderBatch(batch, plan.order) : batch;
  let x = augmentImages(uploadImagesU8(samples.images, shape), shape, { padding: o.padding, flip: o.flip, crop: o.padding > 0, generator: o.generator });
  if (plan) x = applyCorruptionPlan(x, plan, o.corruptions!.generator);
  const labels = tensor(samples.labels);
  if (o.adversarial) x = adversarialExamples(model, x, labels, o.adversarial.config, o.adversarial.eps, o.adversarial.generator);
  const { logits, blocks } = model.forward(x);
  const ce = crossEntropy(logits, labels);
  // With α = 0 the SI is only a metric: no graph to record.
  const si = o.alpha === 0 ? noGrad(() => batchSelectivity(blocks, labels, o.numClasses)) : batchSelectivity(blocks, labels, o.numClasses);
  backward(o.alpha === 0 ? ce : sub(ce, mulScalar(si, o.alpha)));
  optimizer.step();
  optimizer.zeroGrad();
  return { ce, correct: sum(predictions(logits, labels).correct), si };
}

export async function train(config: TrainConfig, io: TrainIO): Promise<TrainResult> {
  // A resumed run may switch the convolutions' tap window to the order it started with; later work
  // in this process gets the setting it had before.
  const tapWindow = convTapWindow();
  try {
    return await trainRun(config, io);
  } finally {
    setConvTapWindow(tapWindow);
  }
}

async function trainRun(config: TrainConfig, io: TrainIO): Promise<TrainResult> {
  validateConfig(config);
  const { store, train: trainData, test: testData } = io;
  const log = io.log ?? (() => {});
  // The GEMM tile, the K-split policy and the convolutions' tap window set the order of summation,
  // so a resumed run must use the ones it started with.
  const fullConfig = { ...config, ...robustTrainingRecord(config), numClasses: io.numClasses, trainSize: trainData.size, testSize: testData.size, gemmTile: gemmTile(), gemmSplitTarget: gemmSplitTarget(), convTapWindow: convTapWindow(), ...io.describe };
  const classNames = trainData.classNames ?? testData.classNames;
  const initGenerator = new Generator(config.seed, { stream: 0 });
  const augmentGenerator = new Generator(config.seed, { stream: 1 });
  // Random starts of the adversarial search and corruption choices/noise: streams of their own, so
  // a standard run draws exactly what it drew before these existed.
  const adversarialGenerator = new Generator(config.seed, { stream: ADVERSARIAL_STREAM });
  const corruptionGenerator = new Generator(config.seed, { stream: CORRUPTION_AUGMENT_STREAM });
  const model = io.model ? io.model(initGenerator) : createModel({ model: config.model, dataset: config.data, numClasses: io.numClasses, shortcut: config.shortcut }, initGenerator);
  const optimizer = new SGD(model.parameters(), { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.nesterov });
  let position: TrainingPosition = { epoch: 0, batch: 0, globalStep: 0, generators: {} };
  let rows: EpochMetrics[] = [];

  const checkpointPath = `${store.location}/${CHECKPOINT_FILE}`;
  /** Global step of the newest checkpoint on disk (null: none yet), for error messages. */
  let lastCheckpointStep: number | null = null;
  const lastGood = () => (lastCheckpointStep === null ? 'no checkpoint has been written yet' : `the last good checkpoint is ${checkpointPath} (step ${lastCheckpointStep}; --resume continues from it)`);
  const stopIfAborted = () => io.signal?.throwIfAborted();
  const hasCheckpoint = await store.exists(CHECKPOINT_FILE);
  if (hasCheckpoint || (await store.exists(CONFIG_FILE))) {
    if (!io.resume) throw new Error(`${store.location} already holds a run; pass --resume to continue it, or choose another --out`);
    const recorded = JSON.parse(await store.readText(CONFIG_FILE)).config as Record<string, unknown>;
    // Runs recorded before the tap window existed summed with the plain gather; either way the
    // resumed run continues in the order it started with.
    setConvTapWindow(recorded.convTapWindow === true);
    fullConfig.convTapWindow = convTapWindow();
    // A run recorded before the split policy was recorded resumes under the current one, as it always did.
    const previous = { gemmSplitTarget: fullConfig.gemmSplitTarget, ...recorded, convTapWindow: fullConfig.convTapWindow, ...robustTrainingRecord(recorded as Pick<TrainConfig, 'adversarial' | 'augmentCorruptions'>) };
    const diff = configDifferences(fullConfig, previous, ['adapter', 'version', 'dataDir']);
    if (diff.length > 0) throw new Error(`${store.location}: cannot resume a run with a different configuration:\n  ${diff.join('\n  ')}`);
  }
  if (hasCheckpoint && io.resume) {
    const source = `${store.location}/${CHECKPOINT_FILE}`;
    const checkpoint = decodeCheckpoint(await store.readBytes(CHECKPOINT_FILE), source);
    if (!checkpoint.position) throw new Error(`${source}: no training position in its metadata (not a training checkpoint)`);
    restoreCheckpoint(checkpoint, model, optimizer, source);
    position = checkpoint.position;
    lastCheckpointStep = position.globalStep;
    augmentGenerator.setState(position.generators.augment);
    if (position.generators.adversarial) adversarialGenerator.setState(position.generators.adversarial);
    if (position.generators.corruptions) corruptionGenerator.setState(position.generators.corruptions);
    if (await store.exists(METRICS_FILE)) rows = parseMetricsCsv(await store.readText(METRICS_FILE)).filter((r) => r.epoch <= position.epoch);
    log(`resuming ${store.location} at epoch ${position.epoch + 1}, batch ${position.batch} (step ${position.globalStep})`);
  } else {
    await store.write(CONFIG_FILE, JSON.stringify({ config: fullConfig, adapter: gpu().info.description, platform: gpu().info.platform, version: packageVersion(), created: new Date().toISOString() }, null, 2) + '\n');
  }

  if (config.adversarial) log(`adversarial training: ${describeAdversarial(config.adversarial)}`);
  if (config.augmentCorruptions) log(`corruption augmentation: p = ${config.augmentCorruptions.p} of ${config.augmentCorruptions.corruptions.join(', ')}, severities 1–5`);
  const trail = new FinitenessTrail();
  const diverged = (what: string, value: number, where: string) =>
    new TrainingDivergedError(`train: the ${what} became ${value} at ${where} with α = ${config.alpha} and lr ${config.lr}; stopped without saving anything from that step on; ${lastGood()}. Lower --lr or |α|, or start again with another seed`);
  /** Throws TrainingDivergedError if a step since the last check produced a non-finite loss or SI. */
  const checkTrail = async () => {
    const bad = await trail.firstNonFinite();
    if (bad) throw diverged(bad.what, bad.value, `step ${bad.globalStep} (epoch ${bad.epoch + 1}, batch ${bad.batch})`);
  };
  /** Encodes the model (and optimizer), refusing non-finite weights with the step they appeared by. */
  const encode = async (withOptimizer: boolean) => {
    try {
      return await encodeCheckpoint(model, withOptimizer ? optimizer : null, withOptimizer ? position : null, fullConfig, classNames);
    } catch (e) {
      if (e instanceof NonFiniteTensorError) throw diverged(`weight ${e.tensorName}[${e.index}]`, e.value, `or before step ${position.globalStep}`);
      throw e;
    }
  };
  const saveCheckpoint = async (totals?: Tensor[], seen = 0) => {
    await checkTrail();
    position.generators = { augment: augmentGenerator.getState(), adversarial: adversarialGenerator.getState(), corruptions: corruptionGenerator.getState() };
    position.epochTotals = totals ? { loss: await totals[0].item(), correct: await totals[1].item(), selectivity: await totals[2].item(), seen } : undefined;
    const bytes = await encode(true);
    stopIfAborted();
    await store.write(CHECKPOINT_FILE, bytes);
    lastCheckpointStep = position.globalStep;
  };

  const { height, width } = trainData;
  checkTrainSize(trainData.size, config.batchSize);
  const steps = batchCount(trainData.size, config.batchSize, true);
  const logEvery = io.logEvery ?? 20;
  if (!Number.isInteger(logEvery) || logEvery < 1) throw new Error(`train: logEvery must be a positive integer, got ${logEvery}`);
  let stepsThisCall = 0;
  let stopped = false;
  let lastSelectivity: SelectivityReport | undefined;
  try {
    for (let epoch = position.epoch; epoch < config.epochs && !stopped; epoch++) {
      const epochStart = performance.now();
      const resumed = position.batch > 0 ? position.epochTotals : undefined;
      let lossSum = full([1], resumed?.loss ?? 0).keep();
      let correctSum = full([1], resumed?.correct ?? 0).keep();
      let siSum = full([1], resumed?.selectivity ?? 0).keep();
      let seen = resumed?.seen ?? 0;
      let windowStart = performance.now();
      let windowImages = 0;
      model.train();
      for await (const batch of batches(trainData, config.batchSize, { shuffle: true, seed: config.seed, epoch, dropLast: true, startBatch: position.batch })) {
        stopIfAborted();
        const n = batch.count;
        optimizer.lr = learningRate(config, epoch + batch.batchIndex / steps);
        const sums = scope(() => {
          const step = trainingStep(model, optimizer, batch, [height, width], {
            alpha: config.alpha, numClasses: io.numClasses, padding: config.augmentPadding, flip: config.augmentFlip, generator: augmentGenerator,
            adversarial: config.adversarial ? { config: config.adversarial, eps: adversarialEps(config.adversarial, epoch + batch.batchIndex / steps), generator: adversarialGenerator } : null,
            corruptions: config.augmentCorruptions ? { config: config.augmentCorruptions, generator: corruptionGenerator } : null,
          });
          return [addRaw(lossSum, scaleRaw(step.ce, n)), addRaw(correctSum, step.correct), addRaw(siSum, step.si)];
        });
        [lossSum, correctSum, siSum].forEach((t) => t.dispose());
        [lossSum, correctSum, siSum] = sums.map((t) => t.keep());
        trail.record(position.globalStep + 1, epoch, batch.batchIndex + 1, lossSum, siSum);
        seen += n;
        windowImages += n;
        position.batch = batch.batchIndex + 1;
        position.globalStep++;
        stepsThisCall++;
        const last = position.batch === steps;
        if (position.batch % logEvery === 0 || last) {
          await checkTrail();
          const loss = (await lossSum.item()) / seen;
          const now = performance.now();
          const imagesPerSecond = windowImages / ((now - windowStart) / 1000);
          windowStart = now;
          windowImages = 0;
          const remaining = (config.epochs - epoch) * steps - position.batch;
          io.progress?.({ phase: 'train', epoch: epoch + 1, epochs: config.epochs, step: position.batch, steps, loss, accuracy: (await correctSum.item()) / seen, imagesPerSecond, etaSeconds: (remaining * config.batchSize) / imagesPerSecond });
        }
        if (io.checkpointEvery && position.batch % io.checkpointEvery === 0 && !last) await saveCheckpoint([lossSum, correctSum, siSum], seen);
        if (io.stopAfterSteps !== undefined && stepsThisCall >= io.stopAfterSteps) {
          stopped = true;
          break;
        }
      }
      if (stopped) {
        [lossSum, correctSum, siSum].forEach((t) => t.dispose());
        trail.clear();
        break;
      }
      await checkTrail();
      const trainLoss = (await lossSum.item()) / seen;
      const trainAccuracy = (await correctSum.item()) / seen;
      const trainSelectivity = (await siSum.item()) / steps;
      [lossSum, correctSum, siSum].forEach((t) => t.dispose());
      const trainSeconds = (performance.now() - epochStart) / 1000;
      const test = await evaluate(model, testData, config.evalBatchSize, (done, total) => io.progress?.({ phase: 'eval', epoch: epoch + 1, epochs: config.epochs, step: done, steps: total }), io.numClasses);
      lastSelectivity = test.selectivity;
      if (!Number.isFinite(test.loss)) throw diverged('test loss', test.loss, `the evaluation after epoch ${epoch + 1}`);
      rows.push({ epoch: epoch + 1, lr: learningRate(config, epoch), trainLoss, trainAccuracy, trainSelectivity, testLoss: test.loss, testAccuracy: test.accuracy, testSelectivity: test.selectivity!.overall, seconds: (performance.now() - epochStart) / 1000, imagesPerSecond: seen / trainSeconds });
      log(`epoch ${epoch + 1}/${config.epochs}: train loss ${trainLoss.toFixed(4)} acc ${(100 * trainAccuracy).toFixed(2)}% SI ${trainSelectivity.toFixed(3)}  test loss ${test.loss.toFixed(4)} acc ${(100 * test.accuracy).toFixed(2)}% SI ${test.selectivity!.overall.toFixed(3)}  (${rows[rows.length - 1].seconds.toFixed(1)} s)`);
      stopIfAborted();
      await store.write(METRICS_FILE, metricsCsv(rows));
      position.epoch = epoch + 1;
      position.batch = 0;
      await saveCheckpoint();
    }
  } catch (e) {
    trail.clear();
    // A lost device or a failed write: say where the run can continue from.
    if (e instanceof GpuError || (e instanceof Error && /atomic write failed/.test(e.message))) throw new Error(`${e.message.split('\n')[0]}; ${lastGood()}`, { cause: e });
    throw e;
  }

  const finished = position.epoch >= config.epochs;
  const lastRow = rows[rows.length - 1];
  if (finished) {
    const modelBytes = await encode(false);
    stopIfAborted();
    // result.json, which marks the run finished, goes last.
    const result = resultJson({ testAccuracy: lastRow?.testAccuracy, testLoss: lastRow?.testLoss, testSelectivity: lastRow?.testSelectivity, epochs: rows.length, steps: position.globalStep, finished: new Date().toISOString() }, `${store.location}/${RESULT_FILE}`, 2);
    if (lastSelectivity) await store.write(SELECTIVITY_FILE, resultJson(lastSelectivity, `${store.location}/${SELECTIVITY_FILE}`));
    await store.write(MODEL_FILE, modelBytes);
    await store.write(RESULT_FILE, result);
  }
  optimizer.dispose();
  return { config, epochs: rows, testAccuracy: lastRow?.testAccuracy ?? NaN, testLoss: lastRow?.testLoss ?? NaN, finished, model };
}

