// `train`: trains ResNet20/ResNet18 on MNIST, CIFAR-10 or Tiny ImageNet into a run directory.
import { resolve } from 'node:path';
import { removeStaleTemps } from '../io/atomic.js';
import { CACHE_DIR_HELP } from '../io/cache-dir.js';
import { DirectoryStore } from '../io/store-node.js';
import { DATASET_NAMES, MODEL_NAMES, type DatasetName, type ModelName } from '../models.js';
import { openDataset } from '../datasets.js';
import { ProgressBar, formatDuration } from '../progress.js';
import { train, validateConfig, type TrainConfig } from '../train.js';
import { ADVERSARIAL_SPEC_HELP, DEFAULT_CORRUPTION_P, EXTRA_CORRUPTIONS, parseAdversarialSpec, parseAugmentSpec, trainedOnCorruptions } from '../robust/spec.js';
import { asUsageError, parseArgs, type OptionSpec } from './args.js';
import { startGpu } from './gpu.js';

export const trainOptions: Record<string, OptionSpec> = {
  model: { type: 'string', choices: MODEL_NAMES, default: 'resnet20', description: 'architecture' },
  shortcut: { type: 'string', choices: ['A', 'B'], description: 'residual shortcut when the shape changes: A (subsample + zero-pad, the CIFAR classic) or B (1×1 conv + BN); default A for resnet20, B for resnet18' },
  data: { type: 'string', choices: DATASET_NAMES, default: 'mnist', description: 'dataset (mnist ships with the package; the others read the published files from --data-dir)' },
  'data-dir': { type: 'string', metavar: 'DIR', description: 'CIFAR-10 binary directory or Tiny ImageNet root' },
  'cache-dir': { type: 'string', metavar: 'DIR', description: CACHE_DIR_HELP },
  epochs: { type: 'number', integer: true, min: 1, default: 200, description: 'training epochs (docs/method.md §5: ~200 for CIFAR-10, ~90 for Tiny ImageNet)' },
  'batch-size': { type: 'number', integer: true, min: 2, default: 128, description: 'minibatch size (the last partial batch of an epoch is dropped)' },
  lr: { type: 'number', default: 0.1, description: 'initial learning rate' },
  schedule: { type: 'string', choices: ['step', 'cosine', 'constant'], default: 'step', description: 'step: ÷10 at 50% and 75% of the epochs (100/150 of 200); cosine: annealed to 0 per step' },
  momentum: { type: 'number', default: 0.9, description: 'SGD momentum' },
  'weight-decay': { type: 'number', default: 5e-4, description: 'L2 weight decay on every parameter (PyTorch SGD semantics)' },
  nesterov: { type: 'boolean', default: false, description: 'Nesterov momentum' },
  seed: { type: 'number', integer: true, min: 0, default: 0, description: 'seed for initialisation, data order and augmentation (same seed and data ⇒ same run)' },
  alpha: { type: 'number', default: 0, description: 'selectivity regularizer: loss = CE − α·mean SI over all block outputs (α < 0 lowers selectivity)' },
  'augment-padding': { type: 'number', integer: true, min: 0, description: 'random-crop zero padding in pixels (default: 2 for mnist, 4 otherwise; 0 disables)' },
  flip: { type: 'boolean', description: 'random horizontal flips (default: on for cifar10/tinyimagenet, off for mnist)' },
  'limit-train': { type: 'number', integer: true, min: 1, description: 'use a fixed random subset of N training images (quick runs)' },
  'limit-test': { type: 'number', integer: true, min: 1, description: 'use a fixed random subset of N test images' },
  adversarial: { type: 'string', metavar: 'SPEC', description: `adversarial training on the worst case in an ε-ball: ${ADVERSARIAL_SPEC_HELP}. pgd = PGD-AT (Madry et al. 2018: K steps, default 7, of size S, default 2.5·ε/K, from a random start); fgsm-rs = "fast is better than free" (Wong et al. 2020: random start, one step of 1.25·ε). ε in [0, 1] pixel units, fractions allowed (8/255). Examples are made with batch norm in training mode (batch statistics; running statistics updated by the training pass only). Combines with --alpha: the loss on the adversarial batch is CE − α·SI. See docs/robust-training.md` },
  'adversarial-warmup': { type: 'number', integer: true, min: 0, default: 0, description: 'ramp ε linearly from 0 to the --adversarial ε over the first N epochs (updated every step)' },
  'augment-corruptions': { type: 'string', metavar: 'SET[:p=P]', description: `corruption augmentation: each training sample, with probability P (default ${DEFAULT_CORRUPTION_P}), gets a random corruption of SET at a random severity 1–5, made on the GPU by the evaluation's kernels. SET: comma list of corruption names, or "extra" (${EXTRA_CORRUPTIONS.join(', ')}; the 15 benchmark corruptions stay unseen). A benchmark corruption in SET is warned about and recorded in config.json (trainedOnCorruptions)` },
  'eval-batch-size': { type: 'number', integer: true, min: 1, default: 256, description: 'batch size for evaluation' },
  out: { type: 'string', required: true, metavar: 'RUN_DIR', description: 'run directory (config.json, metrics.csv, checkpoint.safetensors, model.safetensors, result.json)' },
  resume: { type: 'boolean', default: false, description: 'continue the run in RUN_DIR from its last checkpoint' },
  'checkpoint-every': { type: 'number', integer: true, min: 0, default: 100, description: 'also checkpoint every N steps within an epoch (0: epoch ends only)' },
  'log-every': { type: 'number', integer: true, min: 1, default: 10, description: 'steps between metric read-backs for the progress bar' },
};

/** --adversarial, --adversarial-warmup and --augment-corruptions as config fields (null when not given). */
export function robustTrainingFrom(args: Record<string, unknown>, command = 'train'): Pick<TrainConfig, 'adversarial' | 'augmentCorruptions'> {
  const spec = args.adversarial as string | undefined;
  const warmup = (args['adversarial-warmup'] as number | undefined) ?? 0;
  if (spec === undefined && warmup > 0) throw new Error(`${command} --adversarial-warmup: needs --adversarial (the ε it ramps up to)`);
  const augment = args['augment-corruptions'] as string | undefined;
  return {
    adversarial: spec === undefined ? null : parseAdversarialSpec(spec, warmup, `${command} --adversarial`),
    augmentCorruptions: augment === undefined ? null : parseAugmentSpec(augment, `${command} --augment-corruptions`),
  };
}

/** The warning for a run that trains on benchmark corruptions (null when it does not). */
export function heldOutWarning(config: Pick<TrainConfig, 'augmentCorruptions'>): string | null {
  const seen = trainedOnCorruptions(config.augmentCorruptions);
  return seen.length ? `warning: --augment-corruptions includes benchmark corruption${seen.length === 1 ? '' : 's'} ${seen.join(', ')}: ${seen.length === 1 ? 'it is' : 'they are'} no longer held out; config.json records them (trainedOnCorruptions) and the report marks their results` : null;
}

export function trainConfigFrom(args: Record<string, unknown>, augment: { padding: number; flip: boolean }, command = 'train'): TrainConfig {
  const model = args.model as ModelName;
  return {
    model,
    shortcut: (args.shortcut as 'A' | 'B' | undefined) ?? (model === 'resnet20' ? 'A' : 'B'),
    data: args.data as DatasetName,
    epochs: args.epochs as number,
    batchSize: args['batch-size'] as number,
    lr: args.lr as number,
    schedule: args.schedule as TrainConfig['schedule'],
    milestones: [0.5, 0.75],
    momentum: args.momentum as number,
    weightDecay: args['weight-decay'] as number,
    nesterov: args.nesterov as boolean,
    seed: args.seed as number,
    alpha: args.alpha as number,
    augmentPadding: (args['augment-padding'] as number | undefined) ?? augment.padding,
    augmentFlip: (args.flip as boolean | undefined) ?? augment.flip,
    limitTrain: (args['limit-train'] as number | undefined) ?? null,
    limitTest: (args['limit-test'] as number | undefined) ?? null,
    evalBatchSize: args['eval-batch-size'] as number,
    ...robustTrainingFrom(args, command),
  };
}

export async function trainCommand(argv: string[]): Promise<void> {
  const args = parseArgs('train', 'Train a ResNet with optional selectivity regularization; resumable, deterministic for a seed.', trainOptions, argv);
  if (!args) return;
  // Every setting is checked before anything is read or started (the augmentation defaults come
  // with the dataset and are valid either way).
  const draft = asUsageError(null, () => trainConfigFrom(args, { padding: 0, flip: false }));
  asUsageError(null, () => validateConfig(draft));
  const warning = heldOutWarning(draft);
  if (warning) console.error(warning);
  const bar = new ProgressBar('train');
  const dataset = await openDataset(args.data as DatasetName, {
    dataDir: args['data-dir'] as string | undefined,
    cacheDir: args['cache-dir'] as string | undefined,
    limitTrain: args['limit-train'] as number | undefined,
    limitTest: args['limit-test'] as number | undefined,
    onProgress: (done, total, what) => bar.update(done, total, {}, what),
  });
  const config = trainConfigFrom(args, dataset.augment);
  const out = resolve(args.out as string);
  // A run killed while writing leaves a temp file; this host's dead writers' are removed.
  await removeStaleTemps(out);
  await startGpu();
  const result = await train(config, {
    store: new DirectoryStore(out),
    train: dataset.train,
    test: dataset.test,
    numClasses: dataset.numClasses,
    describe: { dataDir: args['data-dir'] ?? null, testSplit: dataset.testSplit },
    resume: args.resume as boolean,
    checkpointEvery: args['checkpoint-every'] as number,
    logEvery: args['log-every'] as number,
    log: (line) => {
      bar.done();
      console.log(line);
    },
    progress: (e) => {
      const fields: Record<string, string> = {};
      if (e.loss !== undefined) fields.loss = e.loss.toFixed(4);
      if (e.accuracy !== undefined) fields.acc = `${(100 * e.accuracy).toFixed(1)}%`;
      if (e.imagesPerSecond !== undefined) fields['img/s'] = e.imagesPerSecond.toFixed(1);
      if (e.etaSeconds !== undefined) fields.ETA = formatDuration(e.etaSeconds);
      bar.update(e.step, e.steps, fields, `${e.phase === 'train' ? 'epoch' : 'eval '} ${e.epoch}/${e.epochs}`);
    },
  });
  bar.done();
  console.log(`${result.finished ? 'finished' : 'stopped'}: test accuracy ${(100 * result.testAccuracy).toFixed(2)}% → ${out}`);
  result.model.dispose();
}
