// Shared by the CLIs: loading a model from a checkpoint and opening its dataset.
import { readFile } from 'node:fs/promises';
import type { ResNet } from '../../models/resnet.js';
import { checkFinite, decodeCheckpoint, restoreCheckpoint, type DecodedCheckpoint } from '../checkpoint.js';
import { openDataset, type OpenedDataset } from '../datasets.js';
import { CACHE_DIR_HELP } from '../io/cache-dir.js';
import { DATASET_NAMES, MODEL_NAMES, createModel, type DatasetName, type ModelName } from '../models.js';
import { UsageError, type OptionSpec } from './args.js';
import { startGpu } from './gpu.js';

export const checkpointOptions: Record<string, OptionSpec> = {
  checkpoint: { type: 'string', required: true, metavar: 'FILE', description: 'model.safetensors or checkpoint.safetensors of a run (or a PyTorch-saved state dict with --model/--data)' },
  data: { type: 'string', choices: DATASET_NAMES, description: 'dataset (default: the one the checkpoint was trained on)' },
  'data-dir': { type: 'string', metavar: 'DIR', description: 'dataset directory (CIFAR-10 binary / Tiny ImageNet root)' },
  'cache-dir': { type: 'string', metavar: 'DIR', description: CACHE_DIR_HELP },
  model: { type: 'string', choices: MODEL_NAMES, description: 'architecture, when the checkpoint does not record it' },
  shortcut: { type: 'string', choices: ['A', 'B'], description: 'shortcut type, when the checkpoint does not record it' },
  'batch-size': { type: 'number', integer: true, min: 1, default: 256, description: 'evaluation batch size' },
  'limit-test': { type: 'number', integer: true, min: 1, description: 'use a fixed random subset of N test images' },
};

/** A checkpoint read and checked on the host (no GPU yet): weights, and what it was trained on. */
export interface CheckpointFile {
  path: string;
  checkpoint: DecodedCheckpoint;
  config: Record<string, unknown>;
  dataset: DatasetName;
}

export interface LoadedModel {
  model: ResNet;
  config: Record<string, unknown>;
  dataset: DatasetName;
}

/**
 * Reads and checks a checkpoint without touching the GPU: a malformed file, non-finite weights or an
 * unknown model are named errors before any device starts.
 */
export async function readCheckpoint(path: string, args: Record<string, unknown>): Promise<CheckpointFile> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new UsageError(`--checkpoint ${path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const checkpoint = decodeCheckpoint(bytes, path);
  checkFinite(checkpoint.tensors, path);
  const config = checkpoint.config ?? {};
  const model = (args.model ?? config.model) as ModelName | undefined;
  const dataset = (args.data ?? config.data) as DatasetName | undefined;
  if (!model || !dataset) throw new UsageError(`${path} does not record its model and dataset; pass --model and --data`);
  if (!MODEL_NAMES.includes(model)) throw new Error(`${path}: records model ${JSON.stringify(model)}, expected one of ${MODEL_NAMES.join(', ')}`);
  if (!DATASET_NAMES.includes(dataset)) throw new Error(`${path}: records dataset ${JSON.stringify(dataset)}, expected one of ${DATASET_NAMES.join(', ')}`);
  const numClasses = (config.numClasses as number | undefined) ?? (dataset === 'tinyimagenet' ? 200 : 10);
  if (!Number.isSafeInteger(numClasses) || numClasses < 2) throw new Error(`${path}: records numClasses ${JSON.stringify(numClasses)}, expected an integer ≥ 2`);
  const shortcut = (args.shortcut ?? config.shortcut ?? (model === 'resnet20' ? 'A' : 'B')) as 'A' | 'B';
  if (shortcut !== 'A' && shortcut !== 'B') throw new Error(`${path}: records shortcut ${JSON.stringify(shortcut)}, expected A or B`);
  return { path, checkpoint, config: { ...config, model, data: dataset, shortcut, numClasses }, dataset };
}

/** Starts the GPU and builds the checkpoint's model in eval mode. */
export async function instantiate(file: CheckpointFile): Promise<LoadedModel> {
  await startGpu();
  const { model, numClasses, shortcut } = file.config as { model: ModelName; numClasses: number; shortcut: 'A' | 'B' };
  const net = createModel({ model, dataset: file.dataset, numClasses, shortcut });
  restoreCheckpoint(file.checkpoint, net, null, file.path);
  net.eval();
  return { model: net, config: file.config, dataset: file.dataset };
}

/** readCheckpoint, then instantiate. */
export async function loadModel(path: string, args: Record<string, unknown>): Promise<LoadedModel> {
  return instantiate(await readCheckpoint(path, args));
}

export async function openTestData(loaded: Pick<LoadedModel, 'config' | 'dataset'>, args: Record<string, unknown>): Promise<OpenedDataset> {
  return openDataset(loaded.dataset, {
    dataDir: (args['data-dir'] ?? loaded.config.dataDir ?? undefined) as string | undefined,
    cacheDir: args['cache-dir'] as string | undefined,
    limitTest: args['limit-test'] as number | undefined,
    limitTrain: 1,
  });
}
