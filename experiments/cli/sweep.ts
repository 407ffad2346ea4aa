// `sweep` and `merge`: α × seed grids of training runs, shardable across independent workers.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { openDataset } from '../datasets.js';
import { writeFileAtomic } from '../io/atomic.js';
import { DirectoryStore } from '../io/store-node.js';
import type { DatasetName } from '../models.js';
import { ProgressBar, formatDuration } from '../progress.js';
import { RUNS_DIR, SWEEP_FILE, baseDifferences, parseShard, planRuns, shardOf, toCsv } from '../sweep.js';
import { collectSweep, flattenRun } from '../report/collect.js';
import { CONFIG_FILE, RESULT_FILE, train } from '../train.js';
import { parseArgs, UsageError, type OptionSpec } from './args.js';
import { trainConfigFrom, trainOptions } from './train.js';

const { alpha: _alpha, seed: _seed, out: _out, resume: _resume, ...shared } = trainOptions;

const sweepOptions: Record<string, OptionSpec> = {
  ...shared,
  alphas: { type: 'numbers', default: [-10, -1, -0.3, 0, 0.3, 1, 10], description: 'regularizer weights α (loss = CE − α·SI); docs/method.md §4 grid: -100,-30,-10,-5,-2,-1,-0.4,-0.3,-0.2,-0.1,0,0.1,0.2,0.3,0.4,1,2,5' },
  seeds: { type: 'numbers', default: [0, 1, 2], description: 'seeds per α' },
  out: { type: 'string', required: true, metavar: 'SWEEP_DIR', description: 'sweep directory (sweep.json, runs/alpha=A_seed=S/, merged.csv)' },
  shard: { type: 'string', default: '0/1', metavar: 'i/n', description: 'run only the runs k with k mod n = i (e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT or $JOB_COMPLETION_INDEX/N)' },
};

export async function sweepCommand(argv: string[]): Promise<void> {
  const args = parseArgs('sweep', 'Train every (α, seed) pair of a grid; finished runs are skipped, partial ones resumed, so workers can share a sweep.', sweepOptions, argv);
  if (!args) return;
  let shard;
  try {
    shard = parseShard(args.shard as string);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const seeds = args.seeds as number[];
  for (const s of seeds) if (!Number.isInteger(s) || s < 0) throw new UsageError(`sweep --seeds: ${s} is not a non-negative integer`);
  const runs = planRuns(args.alphas as number[], seeds);
  const dir = resolve(args.out as string);
  const dataset = await openDataset(args.data as DatasetName, { dataDir: args['data-dir'] as string | undefined, limitTrain: args['limit-train'] as number | undefined, limitTest: args['limit-test'] as number | undefined });
  const { alpha: _a, seed: _s, ...base } = trainConfigFrom({ ...args, alpha: 0, seed: 0 }, dataset.augment);
  // All workers must agree on everything but α and seed.
  const sweepFile = join(dir, SWEEP_FILE);
  if (existsSync(sweepFile)) {
    const recorded = JSON.parse(await readFile(sweepFile, 'utf8')).base;
    const diff = baseDifferences(recorded, base);
    if (diff.length) throw new UsageError(`${dir} holds a sweep with a different configuration; refusing to mix runs:\n  ${diff.join('\n  ')}`);
  } else {
    await writeFileAtomic(sweepFile, JSON.stringify({ base, created: new Date().toISOString() }, null, 2) + '\n');
  }
  const mine = shardOf(runs, shard);
  console.log(`sweep ${dir}: ${runs.length} runs, shard ${shard.index}/${shard.count} has ${mine.length}`);
  const started = performance.now();
  for (const [i, run] of mine.entries()) {
    const runDir = join(dir, RUNS_DIR, run.name);
    if (existsSync(join(runDir, RESULT_FILE))) {
      console.log(`[${i + 1}/${mine.length}] ${run.name}: finished, skipped`);
      continue;
    }
    const partial = existsSync(join(runDir, CONFIG_FILE));
    console.log(`[${i + 1}/${mine.length}] ${run.name}: ${partial ? 'resuming' : 'starting'}`);
    const bar = new ProgressBar(run.name);
    const result = await train({ ...base, alpha: run.alpha, seed: run.seed }, {
      store: new DirectoryStore(runDir), train: dataset.train, test: dataset.test, numClasses: dataset.numClasses,
      describe: { dataDir: args['data-dir'] ?? null, testSplit: dataset.testSplit }, resume: partial,
      checkpointEvery: args['checkpoint-every'] as number, logEvery: args['log-every'] as number,
      progress: (e) => bar.update(e.step, e.steps, e.loss === undefined ? {} : { loss: e.loss.toFixed(3), 'img/s': (e.imagesPerSecond ?? 0).toFixed(0), ETA: formatDuration(e.etaSeconds ?? NaN) }, `${run.name} ${e.phase === 'train' ? 'epoch' : 'eval'} ${e.epoch}/${e.epochs}`),
    });
    bar.done();
    console.log(`[${i + 1}/${mine.length}] ${run.name}: test accuracy ${(100 * result.testAccuracy).toFixed(2)}%`);
    result.model.dispose();
  }
  console.log(`shard ${shard.index}/${shard.count} done in ${formatDuration((performance.now() - started) / 1000)}; collect with: merge ${args.out}`);
}

export async function mergeCommand(argv: string[]): Promise<void> {
  const args = parseArgs('merge', 'Collect every finished run of a sweep into SWEEP_DIR/merged.csv: α, seed, test accuracy, SI per layer and overall, and — where the run has them — clean/corrupted accuracy (mCA), PGD AUC, dimensionality and gradient variability.', {
    out: { type: 'string', metavar: 'FILE', description: 'CSV path (default SWEEP_DIR/merged.csv)' },
  }, argv);
  if (!args) return;
  const dir = args._[0];
  if (!dir) throw new UsageError('merge: give the sweep directory: merge SWEEP_DIR');
  let collected;
  try {
    collected = await collectSweep(resolve(dir));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { runs, unfinished } = collected;
  const rows = runs.map(flattenRun);
  if (rows.length === 0) throw new UsageError(`${dir}: no finished runs yet${unfinished.length ? ` (${unfinished.length} unfinished)` : ''}`);
  const out = (args.out as string | undefined) ?? join(dir, 'merged.csv');
  await writeFileAtomic(out, toCsv(rows));
  console.log(`${rows.length} finished runs → ${out}${unfinished.length ? `; ${unfinished.length} unfinished: ${unfinished.join(', ')}` : ''}`);
}
