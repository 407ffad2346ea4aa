// Model construction by name, with the input normalisation of each dataset.
import type { Generator } from '../engine/ops/random.js';
import { CIFAR10_MEAN, CIFAR10_STD, TINY_IMAGENET_MEAN, TINY_IMAGENET_STD, resnet18, resnet20, type ResNet, type Shortcut } from '../models/resnet.js';

export const MODEL_NAMES = ['resnet20', 'resnet18'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];
export const DATASET_NAMES = ['mnist', 'cifar10', 'tinyimagenet'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Per-channel mean/std of [0,1] pixels (MNIST padded to 32×32 and replicated to 3 channels). */
export const NORMALIZATION: Record<DatasetName, { mean: number[]; std: number[] }> = {
  mnist: { mean: [0.1, 0.1, 0.1], std: [0.2752, 0.2752, 0.2752] },
  cifar10: { mean: CIFAR10_MEAN, std: CIFAR10_STD },
  tinyimagenet: { mean: TINY_IMAGENET_MEAN, std: TINY_IMAGENET_STD },
};

export interface ModelSpec {
  model: ModelName;
  dataset: DatasetName;
  numClasses: number;
  shortcut?: Shortcut;
}

export function createModel(spec: ModelSpec, generator?: Generator): ResNet {
  const make = spec.model === 'resnet20' ? resnet20 : resnet18;
  return make({ numClasses: spec.numClasses, shortcut: spec.shortcut, generator, ...NORMALIZATION[spec.dataset] });
}
