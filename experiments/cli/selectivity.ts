// `selectivity`: dataset-wide class selectivity of every block output of a checkpoint.
import { dirname, join } from 'node:path';
import { writeFilesAtomic } from '../io/atomic.js';
import { resultJson } from '../io/result-json.js';
import { ProgressBar } from '../progress.js';
import { boxChart } from '../report/svg.js';
import { measureSelectivity, type SelectivityReport } from '../selectivity.js';
import { parseArgs } from './args.js';
import { checkpointOptions, instantiate, openTestData, readCheckpoint } from './common.js';

export function selectivitySvg(report: SelectivityReport, title: string): string {
  return boxChart({
    title,
    subtitle: `mean SI per layer ${report.layers.map((v) => v.toFixed(3)).join(' · ')}; overall ${report.overall.toFixed(3)} (${report.samples} images)`,
    xLabel: 'block output',
    yLabel: 'class selectivity index',
    yRange: [0, Math.max(0.05, Math.min(1, Math.max(...report.units.flat()) * 1.05))],
    groups: report.units.map((values, i) => ({ name: report.layerNames[i], values })),
    width: 760,
  });
}

export async function selectivityCommand(argv: string[]): Promise<void> {
  const args = parseArgs('selectivity', 'Class selectivity index of every unit of every residual block output, over the test set (docs/method.md §3).', {
    ...checkpointOptions,
    out: { type: 'string', metavar: 'DIR', description: 'where to write selectivity.json and selectivity.svg (default: beside the checkpoint)' },
  }, argv);
  if (!args) return;
  const checkpoint = await readCheckpoint(args.checkpoint as string, args);
  const data = await openTestData(checkpoint, args);
  const loaded = await instantiate(checkpoint);
  const bar = new ProgressBar('selectivity');
  const report = await measureSelectivity(loaded.model, data.test, data.numClasses, args['batch-size'] as number, (d, t) => bar.update(d, t));
  bar.done();
  const dir = (args.out as string | undefined) ?? dirname(args.checkpoint as string);
  await writeFilesAtomic([
    { path: join(dir, 'selectivity.svg'), data: selectivitySvg(report, `Class selectivity per block (${loaded.config.model}, α = ${loaded.config.alpha ?? '?'})`) },
    { path: join(dir, 'selectivity.json'), data: resultJson({ checkpoint: args.checkpoint, data: loaded.dataset, ...report }, 'selectivity selectivity.json') },
  ]);
  console.log(report.layerNames.map((n, i) => `${n.padEnd(10)} mean SI ${report.layers[i].toFixed(4)}`).join('\n'));
  console.log(`overall mean SI ${report.overall.toFixed(4)} over ${report.samples} images → ${join(dir, 'selectivity.json')}, selectivity.svg`);
  loaded.model.dispose();
}
