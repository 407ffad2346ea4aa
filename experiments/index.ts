// `selectivity-webgpu/experiments` (Node): the study built on the engine. Datasets in their published
// formats and their download, training with the selectivity regularizer, checkpoints, class
// selectivity, corruptions, attacks, and the dimensionality and gradient analyses.
export * from './data/dataset.js';
export { loadMnist } from './data/mnist.js';
export { loadCifar10, CIFAR10_CLASSES } from './data/cifar10.js';
export { loadTinyImageNet } from './data/tinyimagenet.js';
export { loadCifar10C, loadTinyImageNetC, loadCorruptedSet } from './data/corrupted.js';
export { openDataset, type OpenedDataset, type OpenOptions } from './datasets.js';
export { downloadDataset, type DatasetDownloadOptions, type DatasetDownloadResult } from './download/dataset.js';
export { PUBLISHED, DOWNLOAD_NAMES, type DownloadName, type PublishedArchive } from './download/datasets.js';
export { createModel, NORMALIZATION, MODEL_NAMES, DATASET_NAMES, type ModelName, type DatasetName, type ModelSpec } from './models.js';
export { train, evaluate, learningRate, type TrainConfig, type TrainIO, type TrainResult, type Evaluation, type EpochMetrics } from './train.js';
export * from './checkpoint.js';
export { readSafetensorsFile, writeSafetensorsFile } from './io/safetensors-node.js';
export { decodeSafetensors, encodeSafetensors } from './io/safetensors.js';
export { batchSelectivity, measureSelectivity, SelectivityAccumulator, type SelectivityReport } from './selectivity.js';
export * from './corruptions/index.js';
export { evaluateCorruptions, generatedAccuracy, type EvaluateCorruptionsOptions } from './corruption-eval.js';
export * from './attacks.js';
export { dimensionalityOf, covarianceSpectrum, blockActivations } from './analysis/dimensionality.js';
export { summarizeSpectrum, type SpectrumSummary } from './analysis/eigen.js';
export { gradientVariability, type GradientVariability, type GradientOptions } from './analysis/gradients.js';
