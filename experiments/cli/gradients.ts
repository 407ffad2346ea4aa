// `gradient-variability`: how much the input gradients of units vary across samples and units.
import { dirname, join } from 'node:path';
import { imagesToFloat, uploadImagesU8 } from '../../engine/ops/augment.js';
import { noGrad } from '../../engine/autograd.js';
import { gradientVariability, type GradientVariability } from '../analysis/gradients.js';
import { readRange } from '../data/dataset.js';
import { writeFilesAtomic } from '../io/atomic.js';
import { resultJson, undefinedAsNull } from '../io/result-json.js';
import { ProgressBar } from '../progress.js';
import { lineChart } from '../report/svg.js';
import { blockNames } from '../selectivity.js';
import { parseArgs } from './args.js';
import { checkpointOptions, instantiate, openTestData, readCheckpoint } from './common.js';

export const GRADIENTS_FILE = 'gradients.json';

const cell = (v: number) => (Number.isFinite(v) ? String(v) : '');

export function gradientsCsv(results: GradientVariability[]): string {
  const head = 'layer,units,samples,dirvar_samples,dirvar_units,dirvar_samples_active,dirvar_units_active,silent_fraction,cv_samples,cv_units';
  return [head, ...results.map((r) => [r.layer, r.units.length, r.samples, ...[r.dirVarSamples, r.dirVarUnits, r.dirVarSamplesActive, r.dirVarUnitsActive, r.silentFraction, r.cvSamples, r.cvUnits].map(cell)].join(','))].join('\n') + '\n';
}

export function gradientsSvg(results: GradientVariability[], title: string): string {
  const xs = results.map((_, i) => i + 1);
  const series = (name: string, key: keyof GradientVariability) => ({ name, points: results.map((r, i): [number, number] => [xs[i], r[key] as number]) });
  return lineChart({
    title,
    subtitle: `${results[0]?.samples ?? 0} images, ${results[0]?.units.length ?? 0} units per layer`,
    xLabel: 'block output',
    xTicks: xs,
    xTickFormat: (v) => results[v - 1]?.layer ?? '',
    yLabel: 'variability',
    series: [series('direction variance across samples', 'dirVarSamples'), series('direction variance across units', 'dirVarUnits'), series('… over active pairs, samples', 'dirVarSamplesActive'), series('… over active pairs, units', 'dirVarUnitsActive'), series('silent fraction', 'silentFraction'), series('CV of ‖∇‖ across samples', 'cvSamples'), series('CV of ‖∇‖ across units', 'cvUnits')],
    width: 760,
  });
}

export async function gradientsCommand(argv: string[]): Promise<void> {
  const args = parseArgs('gradient-variability', 'Variability of input gradients of block-output units across samples and across units (docs/method.md §9): the variance of normalised gradients (silent pairs as zero vectors, and over active pairs alone), the silent fraction, and the coefficient of variation of gradient norms.', {
    ...checkpointOptions,
    'batch-size': { ...checkpointOptions['batch-size'], default: 64, description: 'samples per forward pass (each unit then costs one backward of this many rows)' },
    samples: { type: 'number', integer: true, min: 2, default: 256, description: 'test images (a fixed random subset)' },
    units: { type: 'number', integer: true, min: 2, default: 16, description: 'units per layer (a fixed random subset when a layer has more)' },
    seed: { type: 'number', integer: true, min: 0, default: 0, description: 'seed of the unit subset' },
    out: { type: 'string', metavar: 'DIR', description: 'where to write gradients.json/.csv/.svg (default: beside the checkpoint)' },
  }, argv);
  if (!args) return;
  const samples = args.samples as number;
  const units = args.units as number;
  const checkpoint = await readCheckpoint(args.checkpoint as string, args);
  const data = await openTestData(checkpoint, { ...args, 'limit-test': samples });
  const loaded = await instantiate(checkpoint);
  const { images } = await readRange(data.test);
  const shape = [data.test.size, data.test.height, data.test.width, 3];
  const x = noGrad(() => imagesToFloat(uploadImagesU8(images, shape), shape));
  const bar = new ProgressBar('gradients');
  const results = await gradientVariability(loaded.model, x, blockNames(loaded.model), { batchSize: args['batch-size'] as number, unitsPerLayer: units, seed: args.seed as number, onProgress: (d, t) => bar.update(d, t) });
  bar.done();
  x.dispose();
  const dir = (args.out as string | undefined) ?? dirname(args.checkpoint as string);
  // A statistic with nothing to average (no active unit or sample) is undefined: null, never NaN.
  const layers = results.map((r) => undefinedAsNull(r, ['dirVarSamples', 'dirVarUnits', 'dirVarSamplesActive', 'dirVarUnitsActive', 'silentFraction', 'cvSamples', 'cvUnits']));
  await writeFilesAtomic([
    { path: join(dir, 'gradients.csv'), data: gradientsCsv(results) },
    { path: join(dir, 'gradients.svg'), data: gradientsSvg(results, `Input-gradient variability (α = ${loaded.config.alpha ?? '?'})`) },
    { path: join(dir, GRADIENTS_FILE), data: resultJson({ checkpoint: args.checkpoint, alpha: loaded.config.alpha ?? null, layers }, `gradient-variability ${GRADIENTS_FILE}`) },
  ]);
  const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '  –  ');
  for (const r of results) console.log(`${r.layer.padEnd(10)} dir-var samples ${f(r.dirVarSamples)} (active ${f(r.dirVarSamplesActive)})  units ${f(r.dirVarUnits)} (active ${f(r.dirVarUnitsActive)})  silent ${f(r.silentFraction)}  CV samples ${f(r.cvSamples)}  units ${f(r.cvUnits)}`);
  console.log(`→ ${join(dir, GRADIENTS_FILE)}, gradients.csv, gradients.svg`);
  loaded.model.dispose();
}
