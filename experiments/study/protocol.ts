// What a study measures on each network, per dataset: the α × seed grid, the training settings, and
// the settings of every measurement (corruptions, PGD L∞ and L2, dimensionality, gradient
// variability). Each measurement is one of the project's commands with its arguments, so a study's
// files are exactly those the commands write, and any measurement can be re-run by hand.
import type { DatasetName } from '../models.js';
import type { RegimeName } from './regimes.js';

/** The selectivity-regularizer grid of the paper's ResNet20 / CIFAR-10 experiments. */
export const PAPER_ALPHAS = [-100, -30, -10, -5, -2, -1, -0.4, -0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3, 0.4, 1, 2, 5];

export interface StudyProtocol {
  summary: string;
  /** Test images the measurement sizes below are chosen for (the protocol's test subset or the whole test set). */
  testImages: number;
  alphas: number[];
  seeds: number[];
  /** `sweep`/`train` options (without --alphas, --seeds, --out). */
  train: Record<string, string | number>;
  corruptions: { corruptions: string; severities: number[]; images: number };
  /** skipBroken: attack at each ε only the images that survived the smaller ones (attack --skip-broken). */
  attacks: { norm: 'linf' | 'l2'; eps: string; steps: number; images: number; skipBroken: boolean }[];
  dimensionality: { samples: number; corruptions: string; severities: number[]; norm: 'linf' | 'l2'; eps: string; steps: number };
  gradients: { samples: number; units: number };
  /** The `train` options each robust regime adds to `train` (study --regimes); standard adds none. */
  regimes: Record<Exclude<RegimeName, 'standard'>, Record<string, string | number>>;
}

/** Corruption-augmented training: half the samples get one of the 4 extra corruptions, so the 15 benchmark ones stay unseen. */
const CORRUPTION_AUG = { 'augment-corruptions': 'extra:p=0.5' };
/** PGD-AT at ε = 8/255 as Madry et al. (2018) train CIFAR-10: 7 steps of 2/255 from a random start. */
const MADRY_8_255 = { adversarial: 'pgd:linf:8/255:steps=7:step=2/255' };

export const PROTOCOLS: Record<DatasetName, StudyProtocol> = {
  mnist: {
    summary: 'ResNet20 on the bundled MNIST digits, sized to finish on 2 CPU cores without a GPU',
    testImages: 500,
    alphas: [-3, -1, 0, 1, 3],
    seeds: [0, 1, 2],
    train: { model: 'resnet20', epochs: 2, 'batch-size': 64, lr: 0.1, schedule: 'cosine', 'limit-train': 3072, 'limit-test': 500, 'log-every': 8 },
    corruptions: { corruptions: 'benchmark', severities: [1, 2, 3, 4, 5], images: 100 },
    attacks: [
      { norm: 'linf', eps: '0,0.05,0.1,0.15,0.2', steps: 10, images: 100, skipBroken: true },
      { norm: 'l2', eps: '0,0.5,1,1.5,2', steps: 10, images: 100, skipBroken: true },
    ],
    dimensionality: { samples: 100, corruptions: 'benchmark', severities: [3], norm: 'linf', eps: '0.1', steps: 10 },
    gradients: { samples: 24, units: 8 },
    // ε = 0.2 rather than the classic 0.3: the top of the L∞ grid above, so the attack curve ends at the
    // radius the networks were trained for; the first of the two epochs ramps ε up from 0.
    regimes: { adversarial: { adversarial: 'pgd:linf:0.2:steps=7', 'adversarial-warmup': 1 }, 'corruption-aug': CORRUPTION_AUG },
  },
  cifar10: {
    summary: 'ResNet20 on CIFAR-10 with the paper\'s α grid: 200 epochs per network (days per network on a CPU; hours on a GPU)',
    testImages: 10_000,
    alphas: PAPER_ALPHAS,
    seeds: [0, 1, 2, 3, 4],
    train: { model: 'resnet20', epochs: 200, 'batch-size': 128, lr: 0.1, schedule: 'step' },
    corruptions: { corruptions: 'benchmark', severities: [1, 2, 3, 4, 5], images: 10_000 },
    attacks: [
      { norm: 'linf', eps: '0,0.25/255,0.5/255,1/255,2/255,4/255,8/255', steps: 20, images: 1000, skipBroken: true },
      { norm: 'l2', eps: '0,0.05,0.1,0.25,0.5,1', steps: 20, images: 1000, skipBroken: true },
    ],
    dimensionality: { samples: 500, corruptions: 'benchmark', severities: [3], norm: 'linf', eps: '1/255,4/255', steps: 10 },
    gradients: { samples: 256, units: 16 },
    regimes: { adversarial: MADRY_8_255, 'corruption-aug': CORRUPTION_AUG },
  },
  tinyimagenet: {
    summary: 'ResNet18 on Tiny ImageNet (64×64, 200 classes), 90 epochs per network',
    testImages: 10_000,
    alphas: [-2, -1, -0.5, 0, 0.5, 1, 2],
    seeds: [0, 1, 2],
    train: { model: 'resnet18', epochs: 90, 'batch-size': 256, lr: 0.1, schedule: 'step' },
    corruptions: { corruptions: 'benchmark', severities: [1, 2, 3, 4, 5], images: 10_000 },
    attacks: [
      { norm: 'linf', eps: '0,0.25/255,0.5/255,1/255,2/255,4/255,8/255', steps: 20, images: 1000, skipBroken: true },
      { norm: 'l2', eps: '0,0.05,0.1,0.25,0.5,1', steps: 20, images: 1000, skipBroken: true },
    ],
    dimensionality: { samples: 500, corruptions: 'benchmark', severities: [3], norm: 'linf', eps: '1/255,4/255', steps: 10 },
    gradients: { samples: 128, units: 16 },
    regimes: { adversarial: MADRY_8_255, 'corruption-aug': CORRUPTION_AUG },
  },
};

/** One measurement of a trained network: the command that makes it and the file that proves it done. */
export interface Measurement {
  stage: string;
  /** The result file the command writes last (written atomically), so its presence means "done". */
  file: string;
  command: 'eval-corruptions' | 'attack' | 'dimensionality' | 'gradient-variability';
  argv: string[];
}

export interface MeasurementSettings {
  protocol: StudyProtocol;
  /** Published corrupted set (CIFAR-10-C / Tiny-ImageNet-C layout) instead of generated corruptions. */
  corruptionSource?: string;
  dataDir?: string;
}

/** The measurements of one network, in the order they run. */
export function measurementsFor(checkpoint: string, { protocol, corruptionSource, dataDir }: MeasurementSettings): Measurement[] {
  const common = ['--checkpoint', checkpoint, ...(dataDir ? ['--data-dir', dataDir] : [])];
  const c = protocol.corruptions;
  const d = protocol.dimensionality;
  const g = protocol.gradients;
  return [
    {
      stage: 'corruptions', file: 'corruptions.json', command: 'eval-corruptions',
      argv: [...common, '--corruptions', c.corruptions, '--severities', c.severities.join(','), '--limit-test', String(c.images), '--batch-size', String(Math.min(c.images, 256)), ...(corruptionSource ? ['--source', corruptionSource] : [])],
    },
    ...protocol.attacks.map((a): Measurement => ({
      stage: `attack-${a.norm}`, file: `attack-${a.norm}.json`, command: 'attack',
      argv: [...common, '--norm', a.norm, '--eps', a.eps, '--steps', String(a.steps), '--limit', String(a.images), '--batch-size', String(Math.min(a.images, 128)), a.skipBroken ? '--skip-broken' : '--no-skip-broken', '--examples', '4'],
    })),
    {
      stage: 'dimensionality', file: 'dimensionality.json', command: 'dimensionality',
      argv: [...common, '--samples', String(d.samples), '--corruptions', d.corruptions, '--severities', d.severities.join(','), '--norm', d.norm, '--eps', d.eps, '--steps', String(d.steps), '--batch-size', String(Math.min(d.samples, 128))],
    },
    {
      stage: 'gradients', file: 'gradients.json', command: 'gradient-variability',
      argv: [...common, '--samples', String(g.samples), '--units', String(g.units), '--batch-size', String(Math.min(g.samples, 64))],
    },
  ];
}

/** The study stages in order: training, then each measurement. */
export const TRAIN_STAGE = 'train';

/** The `train` options a regime adds to the protocol's (none for standard). */
export function regimeTrainOptions(protocol: StudyProtocol, regime: RegimeName): Record<string, string | number> {
  return regime === 'standard' ? {} : protocol.regimes[regime];
}
