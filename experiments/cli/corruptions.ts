// `corrupt`, `eval-corruptions` and `corruption-gallery`: corrupted test sets written in the
// CIFAR-10-C layout, accuracy under corruptions (generated on the GPU or read from a published or
// generated directory), and a labelled picture of one image under every corruption and severity.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../../engine/tensor.js';
import { corruptionGenerator, corruptToBytes, contextFor, evaluateCorruptions, limitLike, type GenerateOptions } from '../corruption-eval.js';
import { loadFrostTextures } from '../corruptions/frost-node.js';
import { defaultParameterSet } from '../corruptions/parameters.js';
import { BENCHMARK_CORRUPTIONS, CORRUPTION_NAMES, type CorruptionName } from '../corruptions/types.js';
import { CORRUPT_MANIFEST, LABELS_FILE, detectLayout, loadCorruptedSet, parseCorruptionList, parseSeverityList, readCorruptManifest, type CorruptManifest } from '../data/corrupted.js';
import { batchCount, batches, type ImageDataset } from '../data/dataset.js';
import { openDataset } from '../datasets.js';
import { removeStaleTempsOf, writeFileAtomic, writeFilesAtomic } from '../io/atomic.js';
import { resultJson } from '../io/result-json.js';
import { CACHE_DIR_HELP } from '../io/cache-dir.js';
import { openNpy, readNpyFile, writeNpyFile } from '../io/npy-node.js';
import { NpyWriter } from '../io/npy-writer.js';
import { encodePngCompressed, writePngFile } from '../io/png-node.js';
import { DATASET_NAMES, type DatasetName } from '../models.js';
import { ProgressBar, formatDuration } from '../progress.js';
import { CORRUPTIONS_CSV, CORRUPTIONS_JSON, CORRUPTIONS_SVG, SEEN_IN_TRAINING_MARK, SEEN_IN_TRAINING_NOTE, corruptionsCsv, corruptionsSvg, summarizeCorruptions } from '../report/corruptions.js';
import { galleryRaster, gallerySvg, type GalleryRow } from '../report/gallery.js';
import { evaluate } from '../train.js';
import { asUsageError, parseArgs, UsageError, type OptionSpec } from './args.js';
import { checkpointOptions, instantiate, openTestData, readCheckpoint } from './common.js';
import { startGpu } from './gpu.js';

const corruptionsOption: OptionSpec = {
  type: 'strings',
  metavar: 'a,b,…',
  description: `corruptions (names, or all / benchmark / extra); valid names: ${CORRUPTION_NAMES.join(', ')}`,
};
const severitiesOption: OptionSpec = { type: 'numbers', integer: true, min: 1, max: 5, metavar: '1,..,5', description: 'severities 1..5', default: [1, 2, 3, 4, 5] };
export const frostOption: OptionSpec = { type: 'string', metavar: 'DIR', description: 'directory of the frost textures frost1.png … frost6.jpg (default: data/frost of the package; without it, procedural stand-ins, noted in the output)' };

/** The package root: the nearest folder above this module holding package.json. */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** Where the frost photographs are when --frost-dir is not given, or null. */
export function defaultFrostDir(): string | null {
  const root = packageRoot();
  if (!root) return null;
  const dir = join(root, 'data', 'frost');
  return existsSync(join(dir, 'frost1.png')) ? dir : null;
}

/**
 * Frost textures as the corruption expects them; only loaded when frost is among the corruptions.
 * Without a texture directory, undefined: the corruption then uses procedural stand-ins (and says so).
 */
export async function frostFor(corruptions: readonly CorruptionName[], dir: string | undefined): Promise<Tensor[] | undefined> {
  if (!corruptions.includes('frost')) return undefined;
  const from = frostSource(dir);
  return from ? (await loadFrostTextures(from)).map((t) => t.keep()) : undefined;
}

/** The texture directory frost will use, or null for the procedural stand-ins. */
function frostSource(dir: string | undefined): string | null {
  return dir ? resolve(dir) : defaultFrostDir();
}

// ---------------------------------------------------------------------------------------------
// corrupt

const corruptOptions: Record<string, OptionSpec> = {
  data: { type: 'string', choices: DATASET_NAMES, required: true, description: 'dataset whose test split is corrupted' },
  'data-dir': { type: 'string', metavar: 'DIR', description: 'CIFAR-10 binary directory or Tiny ImageNet root' },
  'cache-dir': { type: 'string', metavar: 'DIR', description: CACHE_DIR_HELP },
  out: { type: 'string', required: true, metavar: 'DIR', description: 'output directory: <corruption>.npy uint8 (S·N, H, W, 3) severity-major, labels.npy, corrupt.json' },
  corruptions: corruptionsOption,
  severities: severitiesOption,
  limit: { type: 'number', integer: true, min: 1, description: 'use a fixed random subset of N test images (the one --limit-test selects)' },
  seed: { type: 'number', integer: true, min: 0, default: 0, description: 'seed of the corruptions\' randomness (each corruption and severity has its own stream)' },
  'batch-size': { type: 'number', integer: true, min: 1, default: 256, description: 'images corrupted per GPU batch (part of what the random draws depend on)' },
  'frost-dir': frostOption,
};

/** Whether `path` is a complete .npy of the expected shape; a mismatching complete file is an error. */
async function completeNpy(path: string, shape: number[]): Promise<boolean> {
  if (!existsSync(path)) return false;
  let file;
  try {
    file = await openNpy(path);
  } catch {
    return false; // truncated or garbled: regenerate
  }
  await file.close();
  if (file.dtype !== 'uint8' || file.shape.join(',') !== shape.join(',')) {
    throw new UsageError(`${path} holds ${file.dtype} (${file.shape.join(', ')}), not uint8 (${shape.join(', ')}) as this run would write; use another --out or delete it`);
  }
  return true;
}

export async function corruptCommand(argv: string[]): Promise<void> {
  const args = parseArgs('corrupt', 'Write a corrupted copy of a test set (GPU corruptions, quantised to uint8) in the CIFAR-10-C layout; resumable: complete <corruption>.npy files are skipped.', corruptOptions, argv);
  if (!args) return;
  const corruptions = asUsageError('corrupt --corruptions', () => parseCorruptionList(args.corruptions as string[] | undefined));
  const severities = asUsageError('corrupt --severities', () => parseSeverityList(args.severities as number[]));
  const limit = args.limit as number | undefined;
  const seed = args.seed as number;
  const batchSize = args['batch-size'] as number;
  const out = resolve(args.out as string);
  const dataName = args.data as DatasetName;
  const opened = await openDataset(dataName, { dataDir: args['data-dir'] as string | undefined, cacheDir: args['cache-dir'] as string | undefined, limitTest: limit, limitTrain: 1 });
  const test = opened.test;
  const { height, width } = test;
  const n = test.size;
  const rows = severities.length * n;
  const parameters = defaultParameterSet(height, width);
  const now = new Date().toISOString();
  let manifest: CorruptManifest = {
    format: 'cifar10-c-layout', version: 1, data: dataName, testSplit: opened.testSplit, count: n, height, width, severities, seed, batchSize, parameters,
    corruptions: [], numClasses: opened.numClasses, classNames: test.classNames ? [...test.classNames] : undefined, createdAt: now, updatedAt: now,
  };
  const previous = readCorruptManifest(out);
  if (previous) {
    const keys = ['data', 'count', 'height', 'width', 'severities', 'seed', 'batchSize', 'parameters'] as const;
    const diff = keys.filter((k) => JSON.stringify(previous[k]) !== JSON.stringify(manifest[k])).map((k) => `${k}: ${JSON.stringify(previous[k])} there vs ${JSON.stringify(manifest[k])} now`);
    if (diff.length) throw new UsageError(`${out} already holds a corrupted set made with other settings (${diff.join('; ')}); use another --out`);
    manifest = { ...manifest, corruptions: previous.corruptions, createdAt: previous.createdAt };
  }
  // Labels: the N test labels once per severity.
  const labels = new Uint8Array(rows);
  for (let k = 0; k < severities.length; k++) for (let i = 0; i < n; i++) labels[k * n + i] = test.labels[i];
  const labelsPath = join(out, LABELS_FILE);
  if (existsSync(labelsPath)) {
    const existing = await readNpyFile(labelsPath);
    if (existing.data.length !== rows || existing.data.some((v, i) => Number(v) !== labels[i])) throw new UsageError(`${labelsPath} holds other labels than this test set's; use another --out`);
  } else {
    if (opened.numClasses > 256) throw new UsageError(`corrupt: ${opened.numClasses} classes do not fit uint8 labels`);
    await writeNpyFile(labelsPath, labels, [rows]);
  }
  const saveManifest = () => writeFileAtomic(join(out, CORRUPT_MANIFEST), JSON.stringify({ ...manifest, updatedAt: new Date().toISOString() }, null, 2) + '\n');
  await saveManifest();

  await startGpu();
  const frostTextures = await frostFor(corruptions, args['frost-dir'] as string | undefined);
  if (corruptions.includes('frost')) manifest.frost = frostSource(args['frost-dir'] as string | undefined) ?? 'procedural stand-ins';
  const shapeOf = [rows, height, width, 3];
  const perCell = batchCount(n, batchSize);
  const bar = new ProgressBar('corrupt');
  const started = performance.now();
  let made = 0;
  console.log(`corrupt: ${corruptions.length} corruptions × severities ${severities.join(',')} of ${n} ${dataName} test images (${height}×${width}, ${parameters} parameters) → ${out}`);
  try {
    for (const [c, name] of corruptions.entries()) {
      const path = join(out, `${name}.npy`);
      if (await completeNpy(path, shapeOf)) {
        console.log(`${name}: ${basename(path)} is complete, skipped`);
        if (!manifest.corruptions.includes(name)) manifest.corruptions.push(name);
        continue;
      }
      await removeStaleTempsOf(path);
      const writer = await NpyWriter.create(path, 'uint8', shapeOf);
      try {
        for (const [k, severity] of severities.entries()) {
          const ctx = contextFor(corruptionGenerator(seed, name, severity), height, width, { seed, parameters, frostTextures });
          for await (const batch of batches(test, batchSize)) {
            const bytes = await corruptToBytes(batch.images, [batch.count, height, width, 3], name, severity, ctx);
            await writer.writeRows(k * n + batch.batchIndex * batchSize, bytes);
            made += batch.count;
            const done = (c * severities.length + k) * perCell + batch.batchIndex + 1;
            const seconds = (performance.now() - started) / 1000;
            bar.update(done, corruptions.length * severities.length * perCell, { 'img/s': (made / seconds).toFixed(0) }, `corrupt ${name} s${severity}`);
          }
        }
        await writer.commit();
      } catch (e) {
        await writer.abort();
        throw e;
      }
      if (!manifest.corruptions.includes(name)) manifest.corruptions.push(name);
      await saveManifest();
    }
  } finally {
    bar.done();
    frostTextures?.forEach((t) => t.dispose());
  }
  await saveManifest();
  console.log(`done: ${corruptions.length} corruptions × ${severities.length} severities × ${n} images in ${formatDuration((performance.now() - started) / 1000)} → ${out}`);
}

// ---------------------------------------------------------------------------------------------
// eval-corruptions

const evalOptions: Record<string, OptionSpec> = {
  ...checkpointOptions,
  source: { type: 'string', default: 'generated', metavar: 'generated|DIR', description: 'corrupt the test set on the GPU (generated), or read a CIFAR-10-C / Tiny-ImageNet-C layout directory' },
  corruptions: corruptionsOption,
  severities: severitiesOption,
  seed: { type: 'number', integer: true, min: 0, default: 0, description: 'seed of generated corruptions (same seed and --batch-size as `corrupt` ⇒ the same images)' },
  'frost-dir': frostOption,
  wnids: { type: 'string', metavar: 'FILE', description: 'Tiny-ImageNet-C: the clean wnids.txt giving the label order (default: <data-dir>/wnids.txt)' },
  out: { type: 'string', metavar: 'DIR', description: `where to write ${CORRUPTIONS_JSON}, ${CORRUPTIONS_CSV} and ${CORRUPTIONS_SVG} (default: beside the checkpoint)` },
};

export async function evalCorruptionsCommand(argv: string[]): Promise<void> {
  const args = parseArgs('eval-corruptions', 'Accuracy of a checkpoint under every corruption and severity, their means (mCA over the 15 benchmark corruptions, and over all 19) and the drop from clean accuracy.', evalOptions, argv);
  if (!args) return;
  const corruptions = asUsageError('eval-corruptions --corruptions', () => parseCorruptionList(args.corruptions as string[] | undefined));
  const severities = asUsageError('eval-corruptions --severities', () => parseSeverityList(args.severities as number[]));
  const batchSize = args['batch-size'] as number;
  const seed = args.seed as number;
  const limit = args['limit-test'] as number | undefined;
  const source = args.source as string;
  const dir = source === 'generated' ? null : resolve(source);
  if (dir && !(existsSync(dir) && statSync(dir).isDirectory())) throw new UsageError(`eval-corruptions --source: ${source} is neither 'generated' nor a directory`);
  // Fail before any evaluation if the directory lacks a requested corruption.
  if (dir) for (const name of corruptions) asUsageError('eval-corruptions --source', () => detectLayout(dir, name));
  const checkpoint = await readCheckpoint(args.checkpoint as string, args);
  const data = await openTestData(checkpoint, args);
  const loaded = await instantiate(checkpoint);
  const test = data.test;
  const numClasses = loaded.config.numClasses as number;
  const out = (args.out as string | undefined) ?? dirname(args.checkpoint as string);

  const cleanBar = new ProgressBar('clean');
  const clean = (await evaluate(loaded.model, test, batchSize, (d, t) => cleanBar.update(d, t))).accuracy;
  cleanBar.done();
  console.log(`clean accuracy ${(100 * clean).toFixed(2)}% (${test.size} images)`);

  let open: ((name: CorruptionName, severity: number) => Promise<ImageDataset>) | undefined;
  let generate: GenerateOptions | undefined;
  let frostTextures: Tensor[] | undefined;
  if (dir) {
    const dataDir = (args['data-dir'] ?? loaded.config.dataDir) as string | undefined;
    const wnidsFile = (args.wnids as string | undefined) ?? (loaded.dataset === 'tinyimagenet' && dataDir ? join(dataDir, 'wnids.txt') : undefined);
    open = async (name, severity) => {
      const parent = await loadCorruptedSet(dir, name, severity, { numClasses, wnidsFile, classNames: test.classNames, cacheDir: args['cache-dir'] as string | undefined });
      if (parent.height !== test.height || parent.width !== test.width) {
        await parent.close?.();
        throw new UsageError(`${dir}: ${name} severity ${severity} has ${parent.height}×${parent.width} images, but the ${loaded.dataset} model takes ${test.height}×${test.width}`);
      }
      const limited = limitLike(parent, limit);
      return limited === parent ? parent : Object.assign(limited, { close: () => parent.close?.() ?? Promise.resolve() });
    };
  } else {
    frostTextures = await frostFor(corruptions, args['frost-dir'] as string | undefined);
    generate = { seed, parameters: defaultParameterSet(test.height, test.width), frostTextures };
  }

  const bar = new ProgressBar('eval-corruptions');
  const started = performance.now();
  let perCorruption: Record<string, (number | null)[]>;
  try {
    perCorruption = await evaluateCorruptions(loaded.model, test, {
      corruptions, severities, batchSize, open, generate,
      onProgress: (done, total, name, severity) => bar.update(done, total, { ETA: formatDuration(((performance.now() - started) / 1000) * (total / done - 1)) }, `eval-corruptions ${name} s${severity}`),
    });
  } finally {
    bar.done();
    frostTextures?.forEach((t) => t.dispose());
  }
  // A model trained with --augment-corruptions on benchmark corruptions: those results are marked.
  const trainedOn = Array.isArray(loaded.config.trainedOnCorruptions) ? (loaded.config.trainedOnCorruptions as string[]) : [];
  const summary = summarizeCorruptions(clean, perCorruption, trainedOn);
  const record = {
    checkpoint: args.checkpoint, data: loaded.dataset, model: loaded.config.model, alpha: loaded.config.alpha ?? null,
    source: dir ?? 'generated', seed: dir ? null : seed, batchSize,
    frost: !dir && corruptions.includes('frost') ? frostSource(args['frost-dir'] as string | undefined) ?? 'procedural stand-ins' : null, testSplit: data.testSplit, samples: test.size, severities,
    ...summary,
  };
  const title = `Accuracy under corruptions (${loaded.config.model}, ${loaded.dataset}, α = ${loaded.config.alpha ?? '?'})`;
  await writeFilesAtomic([
    { path: join(out, CORRUPTIONS_CSV), data: corruptionsCsv(summary) },
    { path: join(out, CORRUPTIONS_SVG), data: corruptionsSvg(summary, title) },
    { path: join(out, CORRUPTIONS_JSON), data: resultJson(record, `eval-corruptions ${CORRUPTIONS_JSON}`, 2) },
  ]);
  const pct = (v: number | null) => (v === null ? '   -  ' : `${(100 * v).toFixed(2).padStart(6)}`);
  console.log(`${'corruption'.padEnd(18)} ${severities.map((s) => `   s${s} `).join(' ')}`);
  for (const [name, row] of Object.entries(summary.perCorruption)) console.log(`${name.padEnd(18)} ${severities.map((s) => pct(row[s - 1])).join(' ')}${BENCHMARK_CORRUPTIONS.includes(name as CorruptionName) ? '' : '  (extra)'}${summary.trainedOn?.includes(name) ? `  ${SEEN_IN_TRAINING_MARK} ${SEEN_IN_TRAINING_NOTE}` : ''}`);
  console.log(`${'mean (15)'.padEnd(18)} ${severities.map((s) => pct(summary.meanPerSeverity[s - 1])).join(' ')}`);
  console.log(`clean ${pct(clean).trim()}%  mCA ${pct(summary.mCA).trim()}% (relative ${summary.relative.mCA === null ? '-' : summary.relative.mCA.toFixed(3)})  mCA over all ${pct(summary.mCA19).trim()}%${summary.complete.mCA ? '' : '  [not all 15 benchmark corruptions × 5 severities evaluated]'}`);
  console.log(`→ ${join(out, CORRUPTIONS_JSON)}, ${CORRUPTIONS_CSV}, ${CORRUPTIONS_SVG}`);
  loaded.model.dispose();
}

// ---------------------------------------------------------------------------------------------
// corruption-gallery

const galleryOptions: Record<string, OptionSpec> = {
  data: { type: 'string', choices: DATASET_NAMES, required: true, description: 'dataset whose test image is shown' },
  'data-dir': { type: 'string', metavar: 'DIR', description: 'CIFAR-10 binary directory or Tiny ImageNet root' },
  'cache-dir': { type: 'string', metavar: 'DIR', description: CACHE_DIR_HELP },
  out: { type: 'string', required: true, metavar: 'FILE.png|FILE.svg', description: 'PNG (labels in a built-in bitmap font) or SVG (PNG tiles with text labels)' },
  index: { type: 'number', integer: true, min: 0, default: 0, description: 'test image index' },
  seed: { type: 'number', integer: true, min: 0, default: 0, description: 'seed of the corruptions\' randomness' },
  corruptions: corruptionsOption,
  severities: severitiesOption,
  scale: { type: 'number', integer: true, min: 1, description: 'nearest-neighbour upscaling of the tiles (default 3 for 32×32, 2 for 64×64)' },
  'frost-dir': frostOption,
};

export async function galleryCommand(argv: string[]): Promise<void> {
  const args = parseArgs('corruption-gallery', 'One test image under every corruption at every severity: rows = corruptions, columns = clean + severities.', galleryOptions, argv);
  if (!args) return;
  const corruptions = asUsageError('corruption-gallery --corruptions', () => parseCorruptionList(args.corruptions as string[] | undefined));
  const severities = asUsageError('corruption-gallery --severities', () => parseSeverityList(args.severities as number[]));
  const seed = args.seed as number;
  const index = args.index as number;
  const scale = args.scale as number | undefined;
  const out = args.out as string;
  const format = extname(out).toLowerCase();
  if (format !== '.png' && format !== '.svg') throw new UsageError(`corruption-gallery --out: ${out} must end in .png or .svg`);
  const dataName = args.data as DatasetName;
  const opened = await openDataset(dataName, { dataDir: args['data-dir'] as string | undefined, cacheDir: args['cache-dir'] as string | undefined, limitTrain: 1 });
  const test = opened.test;
  if (index >= test.size) throw new UsageError(`corruption-gallery --index: ${index} is outside the ${test.size} ${dataName} test images`);
  const { height, width } = test;
  const clean = new Uint8Array(height * width * 3);
  const label = new Int32Array(1);
  await test.read([index], clean, label);
  const parameters = defaultParameterSet(height, width);
  await startGpu();
  const frostTextures = await frostFor(corruptions, args['frost-dir'] as string | undefined);
  const bar = new ProgressBar('gallery');
  const rows: GalleryRow[] = [];
  try {
    for (const [c, name] of corruptions.entries()) {
      const tiles: Uint8Array[] = [];
      for (const severity of severities) {
        const ctx = contextFor(corruptionGenerator(seed, name, severity), height, width, { seed, parameters, frostTextures });
        tiles.push(await corruptToBytes(clean, [1, height, width, 3], name, severity, ctx));
      }
      rows.push({ name, tiles });
      bar.update(c + 1, corruptions.length, {}, `gallery ${name}`);
    }
  } finally {
    bar.done();
    frostTextures?.forEach((t) => t.dispose());
  }
  const className = test.classNames?.[label[0]];
  const labelText = className && className !== String(label[0]) ? `${label[0]}: ${className}` : String(label[0]);
  const gallery = { title: `${dataName} test image ${index} (label ${labelText}), seed ${seed}`, height, width, clean, severities, rows };
  if (format === '.png') {
    const { rgb, width: w, height: h } = galleryRaster(gallery, { scale });
    await writePngFile(out, rgb, w, h);
    console.log(`${w}×${h} PNG → ${out}`);
  } else {
    await writeFileAtomic(out, gallerySvg(gallery, { scale, png: encodePngCompressed }));
    console.log(`SVG → ${out}`);
  }
}
