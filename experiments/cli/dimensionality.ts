// `dimensionality`: PCA dimensionality of every block output for clean, corrupted and adversarial
// inputs, and of the change the perturbation causes (docs/method.md §8).
import { dirname, join } from 'node:path';
import { noGrad } from '../../engine/autograd.js';
import { imagesToFloat, uploadImagesU8 } from '../../engine/ops/augment.js';
import { subRaw } from '../../engine/ops/elementwise.js';
import { Generator } from '../../engine/ops/random.js';
import { scope, tensor, type Tensor } from '../../engine/tensor.js';
import type { ResNet } from '../../models/resnet.js';
import { blockActivations, concatRows, dimensionalityOf, sliceRows } from '../analysis/dimensionality.js';
import { attackBatch, resolveAttack, type AttackNorm } from '../attacks.js';
import { CORRUPTION_NAMES, BENCHMARK_CORRUPTIONS, checkCorruptionName, corrupt, quantize, type CorruptionContext } from '../corruptions/index.js';
import { readRange } from '../data/dataset.js';
import { writeFilesAtomic } from '../io/atomic.js';
import { resultJson } from '../io/result-json.js';
import { ProgressBar } from '../progress.js';
import type { DimensionalitySummary, LayerDimensionality } from '../report/report.js';
import { lineChart, type Series } from '../report/svg.js';
import { blockNames } from '../selectivity.js';
import { parseArgs, UsageError } from './args.js';
import { checkpointOptions, instantiate, openTestData, readCheckpoint } from './common.js';
import { frostFor, frostOption } from './corruptions.js';

export const DIMENSIONALITY_FILE = 'dimensionality.json';

type Condition = DimensionalitySummary['conditions'][number];

/** Dimensionality of every layer's activations for `images`, and of their change from `clean`. */
async function measure(model: ResNet, images: Tensor, clean: Tensor[] | null, names: string[], batchSize: number, threshold: number): Promise<{ perLayer: LayerDimensionality[]; change?: LayerDimensionality[]; activations: Tensor[] }> {
  const activations = blockActivations(model, images, batchSize);
  const perLayer: LayerDimensionality[] = [];
  const change: LayerDimensionality[] = [];
  for (const [i, act] of activations.entries()) {
    const s = await dimensionalityOf(act, threshold);
    perLayer.push({ layer: names[i], components: s.components, participationRatio: s.participationRatio });
    if (clean) {
      const delta = noGrad(() => subRaw(act, clean[i]));
      const d = await dimensionalityOf(delta, threshold);
      delta.dispose();
      change.push({ layer: names[i], components: d.components, participationRatio: d.participationRatio });
    }
  }
  return { perLayer, change: clean ? change : undefined, activations };
}

export function dimensionalityCsv(summary: DimensionalitySummary): string {
  const rows = ['condition,kind,layer,components,participation_ratio,change_components,change_participation_ratio'];
  for (const c of summary.conditions) {
    c.perLayer.forEach((l, i) => rows.push([c.name, c.kind, l.layer, l.components, l.participationRatio.toFixed(3), c.change?.[i]?.components ?? '', c.change?.[i]?.participationRatio.toFixed(3) ?? ''].join(',')));
  }
  return rows.join('\n') + '\n';
}

export function dimensionalitySvg(summary: DimensionalitySummary, title: string): string {
  const xs = summary.layers.map((_, i) => i + 1);
  const mean = (conds: Condition[], i: number) => conds.reduce((s, c) => s + c.perLayer[i].components, 0) / conds.length;
  const series: Series[] = [];
  const clean = summary.conditions.filter((c) => c.kind === 'clean');
  const corrupted = summary.conditions.filter((c) => c.kind === 'corrupted');
  if (clean.length) series.push({ name: 'clean', points: xs.map((x, i) => [x, mean(clean, i)]) });
  if (corrupted.length) series.push({ name: `corrupted (mean of ${corrupted.length})`, points: xs.map((x, i) => [x, mean(corrupted, i)]) });
  for (const adv of summary.conditions.filter((c) => c.kind === 'adversarial')) series.push({ name: adv.name, points: xs.map((x, i) => [x, adv.perLayer[i].components]) });
  return lineChart({ title, xLabel: 'block output', yLabel: 'principal components for 95% variance', xTicks: xs, xTickFormat: (v) => summary.layers[v - 1] ?? '', series, width: 800 });
}

export async function dimensionalityCommand(argv: string[]): Promise<void> {
  const args = parseArgs('dimensionality', 'PCA dimensionality (components for 95% of the variance, participation ratio) of every block output for clean, corrupted and adversarial test images, and of the perturbation-induced change (docs/method.md §8).', {
    ...checkpointOptions,
    samples: { type: 'number', integer: true, min: 3, default: 500, description: 'test images (a fixed random subset); the Gram matrix is samples × samples' },
    corruptions: { type: 'string', default: 'benchmark', description: "'benchmark' (the 15), 'all' (19), 'none', or a comma-separated list" },
    severities: { type: 'numbers', integer: true, min: 1, max: 5, default: [3], description: 'corruption severities' },
    norm: { type: 'string', choices: ['linf', 'l2'], default: 'linf', description: 'attack norm' },
    eps: { type: 'numbers', allowEmpty: true, default: [1 / 255, 4 / 255], description: 'PGD ε values (fractions like 8/255 accepted; empty for none)' },
    steps: { type: 'number', integer: true, min: 1, default: 10, description: 'PGD steps' },
    threshold: { type: 'number', default: 0.95, description: 'explained-variance threshold (docs/method.md §8: 0.95, a convention)' },
    'frost-dir': frostOption,
    seed: { type: 'number', integer: true, min: 0, default: 0, description: 'seed for corruption noise and PGD random starts' },
    out: { type: 'string', metavar: 'DIR', description: 'where to write dimensionality.json/.csv/.svg (default: beside the checkpoint)' },
  }, argv);
  if (!args) return;
  const samples = args.samples as number;
  const threshold = args.threshold as number;
  if (!(threshold > 0 && threshold <= 1)) throw new UsageError(`dimensionality --threshold: need a fraction in (0, 1], got ${threshold}`);
  const spec = args.corruptions as string;
  let corruptionNames;
  try {
    corruptionNames = spec === 'none' ? [] : spec === 'all' ? [...CORRUPTION_NAMES] : spec === 'benchmark' ? [...BENCHMARK_CORRUPTIONS] : spec.split(',').map((s) => checkCorruptionName(s.trim()));
  } catch (e) {
    throw new UsageError(`dimensionality --corruptions: ${(e as Error).message}`);
  }
  const severities = args.severities as number[];
  const epsList = args.eps as number[];
  let attacks;
  try {
    attacks = epsList.map((eps) => resolveAttack({ norm: args.norm as AttackNorm, eps, steps: args.steps as number }));
  } catch (e) {
    throw new UsageError(`dimensionality: ${(e as Error).message}`);
  }
  const checkpoint = await readCheckpoint(args.checkpoint as string, args);
  const data = await openTestData(checkpoint, { ...args, 'limit-test': samples });
  const loaded = await instantiate(checkpoint);
  const frostTextures = await frostFor(corruptionNames, args['frost-dir'] as string | undefined);
  const ctx: CorruptionContext = { generator: new Generator(args.seed as number, { stream: 2 }), parameters: data.test.height >= 64 ? 'tinyimagenet' : 'cifar10', frostTextures };
  const names = blockNames(loaded.model);
  const batchSize = args['batch-size'] as number;
  const { images, labels } = await readRange(data.test);
  const shape = [data.test.size, data.test.height, data.test.width, 3];
  const clean = noGrad(() => imagesToFloat(uploadImagesU8(images, shape), shape)).keep();
  const labelTensor = tensor(labels).keep();
  const summary: DimensionalitySummary = { layers: names, conditions: [] };
  const total = 1 + corruptionNames.length * severities.length + attacks.length;
  const bar = new ProgressBar('dimensionality');
  let done = 0;
  const base = await measure(loaded.model, clean, null, names, batchSize, threshold);
  summary.conditions.push({ name: 'clean', kind: 'clean', perLayer: base.perLayer });
  bar.update(++done, total, {}, 'clean');
  for (const name of corruptionNames) {
    for (const severity of severities) {
      const perturbed = (await corrupt(clean, name, severity, ctx)).keep();
      const q = noGrad(() => quantize(perturbed)).keep();
      perturbed.dispose();
      const m = await measure(loaded.model, q, base.activations, names, batchSize, threshold);
      m.activations.forEach((t) => t.dispose());
      q.dispose();
      summary.conditions.push({ name: `${name}:${severity}`, kind: 'corrupted', perLayer: m.perLayer, change: m.change });
      bar.update(++done, total, {}, `${name} s${severity}`);
    }
  }
  for (const attack of attacks) {
    const parts: Tensor[] = [];
    for (let start = 0; start < clean.shape[0]; start += batchSize) {
      const count = Math.min(batchSize, clean.shape[0] - start);
      const result = scope(() => {
        const x = sliceRows(clean, start, count, shape.slice(1));
        const y = sliceRows(labelTensor, start, count, []);
        return attackBatch(loaded.model, x, y, attack, ctx.generator).adversarial;
      });
      parts.push(result);
    }
    const adversarial = concatRows(parts).keep();
    const m = await measure(loaded.model, adversarial, base.activations, names, batchSize, threshold);
    m.activations.forEach((t) => t.dispose());
    adversarial.dispose();
    const epsText = `${+(attack.eps * 255).toFixed(3)}/255`;
    summary.conditions.push({ name: `pgd-${attack.norm}:${epsText}`, kind: 'adversarial', perLayer: m.perLayer, change: m.change });
    bar.update(++done, total, {}, `PGD ε=${epsText}`);
  }
  bar.done();
  frostTextures?.forEach((t) => t.dispose());
  base.activations.forEach((t) => t.dispose());
  clean.dispose();
  labelTensor.dispose();
  const dir = (args.out as string | undefined) ?? dirname(args.checkpoint as string);
  const notes = ctx.frostTextures ? [] : corruptionNames.includes('frost') ? ['frost used procedural textures (pass --frost-dir for the published photographs)'] : [];
  await writeFilesAtomic([
    { path: join(dir, 'dimensionality.csv'), data: dimensionalityCsv(summary) },
    { path: join(dir, 'dimensionality.svg'), data: dimensionalitySvg(summary, `Dimensionality per layer (α = ${loaded.config.alpha ?? '?'}, ${samples} images)`) },
    { path: join(dir, DIMENSIONALITY_FILE), data: resultJson({ checkpoint: args.checkpoint, alpha: loaded.config.alpha ?? null, samples: clean.shape[0], threshold, notes, ...summary }, `dimensionality ${DIMENSIONALITY_FILE}`) },
  ]);
  const first = names[0];
  for (const c of summary.conditions) console.log(`${c.name.padEnd(26)} ${first}: ${String(c.perLayer[0].components).padStart(4)} components${c.change ? `, change ${c.change[0].components}` : ''}`);
  console.log(`→ ${join(dir, DIMENSIONALITY_FILE)}, dimensionality.csv, dimensionality.svg`);
  loaded.model.dispose();
}
