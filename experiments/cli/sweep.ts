// `sweep` and `merge`: α × seed grids of training runs, shardable across independent workers.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tryClaim } from '../claim.js';
import { openDataset } from '../datasets.js';
import { createFileExclusive, removeStaleTemps, writeFileAtomic } from '../io/atomic.js';
import { hostId } from '../io/host.js';
import { DirectoryStore } from '../io/store-node.js';
import type { DatasetName } from '../models.js';
import { ProgressBar, formatDuration } from '../progress.js';
import { PAPER_ALPHAS } from '../study/protocol.js';
import { CLAIMS_DIR, RUNS_DIR, SWEEP_FILE, baseDifferences, parseShard, planRuns, shardOf, toCsv } from '../sweep.js';
import { collectSweep, flattenRun } from '../report/collect.js';
import { CONFIG_FILE, RESULT_FILE, checkTrainSize, train, validateConfig } from '../train.js';
import { asUsageError, parseArgs, UsageError, type OptionSpec } from './args.js';
import { startGpu } from './gpu.js';
import { heldOutWarning, trainConfigFrom, trainOptions } from './train.js';

const { alpha: _alpha, seed: _seed, out: _out, resume: _resume, ...shared } = trainOptions;

const sweepOptions: Record<string, OptionSpec> = {
  ...shared,
  alphas: { type: 'numbers', default: PAPER_ALPHAS, description: 'regularizer weights α (loss = CE − α·SI); the default is the paper\'s ResNet20 grid' },
  seeds: { type: 'numbers', integer: true, min: 0, default: [0, 1, 2], description: 'seeds per α' },
  out: { type: 'string', required: true, metavar: 'SWEEP_DIR', description: 'sweep directory (sweep.json, runs/alpha=A_seed=S/, merged.csv)' },
  shard: { type: 'string', default: '0/1', metavar: 'i/n', description: 'run only the runs k with k mod n = i (e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT or $JOB_COMPLETION_INDEX/N)' },
};

export async function sweepCommand(argv: string[]): Promise<void> {
  const args = parseArgs('sweep', 'Train every (α, seed) pair of a grid; finished runs are skipped, partial ones resumed, and each run is claimed while it trains (SWEEP_DIR/claims/), so any number of workers can share a sweep, even with overlapping shards.', sweepOptions, argv);
  if (!args) return;
  // Everything is checked before anything is read or written: a rejected setting leaves no sweep.json.
  const shard = asUsageError(null, () => parseShard(args.shard as string));
  const runs = asUsageError(null, () => planRuns(args.alphas as number[], args.seeds as number[]));
  const draft = asUsageError(null, () => trainConfigFrom({ ...args, alpha: 0, seed: 0 }, { padding: 0, flip: false }, 'sweep'));
  const warning = heldOutWarning(draft);
  if (warning) console.error(warning);
  for (const run of runs) asUsageError(null, () => validateConfig({ ...draft, alpha: run.alpha, seed: run.seed }, `sweep (run ${run.name})`));
  const dir = resolve(args.out as string);
  const dataset = await openDataset(args.data as DatasetName, { dataDir: args['data-dir'] as string | undefined, cacheDir: args['cache-dir'] as string | undefined, limitTrain: args['limit-train'] as number | undefined, limitTest: args['limit-test'] as number | undefined });
  asUsageError(null, () => checkTrainSize(dataset.train.size, draft.batchSize, 'sweep'));
  const { alpha: _a, seed: _s, ...base } = trainConfigFrom({ ...args, alpha: 0, seed: 0 }, dataset.augment, 'sweep');
  // All workers must agree on everything but α and seed: the first one records the base
  // configuration (created exclusively, so racing first workers cannot both write it).
  const sweepFile = join(dir, SWEEP_FILE);
  if (!(await createFileExclusive(sweepFile, JSON.stringify({ base, created: new Date().toISOString() }, null, 2) + '\n'))) {
    let recorded;
    try {
      recorded = JSON.parse(await readFile(sweepFile, 'utf8')).base;
    } catch (e) {
      throw new UsageError(`${sweepFile} cannot be read as a sweep record (${(e as Error).message}); is ${dir} a sweep directory?`);
    }
    const diff = baseDifferences(recorded ?? {}, base);
    if (diff.length) throw new UsageError(`${dir} holds a sweep with a different configuration; refusing to mix runs:\n  ${diff.join('\n  ')}`);
  }
  await startGpu();
  const mine = shardOf(runs, shard);
  console.log(`sweep ${dir}: ${runs.length} runs, shard ${shard.index}/${shard.count} has ${mine.length} (worker ${hostId()} pid ${process.pid})`);
  const started = performance.now();
  const heldElsewhere: string[] = [];
  for (const [i, run] of mine.entries()) {
    const tag = `[${i + 1}/${mine.length}] ${run.name}`;
    const runDir = join(dir, RUNS_DIR, run.name);
    if (existsSync(join(runDir, RESULT_FILE))) {
      console.log(`${tag}: finished, skipped`);
      continue;
    }
    const attempt = await tryClaim(join(dir, CLAIMS_DIR), run.name, { note: `sweep shard ${shard.index}/${shard.count}` });
    if (!attempt.acquired) {
      console.log(`${tag}: ${attempt.reason}, skipped`);
      heldElsewhere.push(run.name);
      continue;
    }
    const { claim } = attempt;
    try {
      // Another worker may have finished it between our look and our claim.
      if (existsSync(join(runDir, RESULT_FILE))) {
        console.log(`${tag}: finished, skipped`);
        continue;
      }
      if (attempt.tookOver) console.log(`${tag}: took over a stale claim (${attempt.tookOver.reason})`);
      await removeStaleTemps(runDir);
      const partial = existsSync(join(runDir, CONFIG_FILE));
      console.log(`${tag}: ${partial ? 'resuming' : 'starting'} at ${new Date().toISOString()}`);
      const bar = new ProgressBar(run.name);
      const result = await train({ ...base, alpha: run.alpha, seed: run.seed }, {
        store: new DirectoryStore(runDir), train: dataset.train, test: dataset.test, numClasses: dataset.numClasses,
        describe: { dataDir: args['data-dir'] ?? null, testSplit: dataset.testSplit }, resume: partial,
        checkpointEvery: args['checkpoint-every'] as number, logEvery: args['log-every'] as number, signal: claim.signal,
        progress: (e) => bar.update(e.step, e.steps, e.loss === undefined ? {} : { loss: e.loss.toFixed(3), 'img/s': (e.imagesPerSecond ?? 0).toFixed(0), ETA: formatDuration(e.etaSeconds ?? NaN) }, `${run.name} ${e.phase === 'train' ? 'epoch' : 'eval'} ${e.epoch}/${e.epochs}`),
      });
      bar.done();
      console.log(`${tag}: test accuracy ${(100 * result.testAccuracy).toFixed(2)}%, done at ${new Date().toISOString()}`);
      result.model.dispose();
    } catch (e) {
      if (!claim.signal.aborted) throw e;
      console.log(`${tag}: ${(claim.signal.reason as Error).message}`);
      heldElsewhere.push(run.name);
    } finally {
      await claim.release();
    }
  }
  const others = heldElsewhere.length ? `; ${heldElsewhere.length} held by other workers: ${heldElsewhere.join(', ')}` : '';
  console.log(`shard ${shard.index}/${shard.count} done in ${formatDuration((performance.now() - started) / 1000)}${others}; collect with: merge ${args.out}`);
}

export async function mergeCommand(argv: string[]): Promise<void> {
  const args = parseArgs('merge', 'Collect every finished run of a sweep into SWEEP_DIR/merged.csv: α, seed, test accuracy, SI per layer and overall, and — where the run has them — clean/corrupted accuracy (mCA), PGD AUC, dimensionality and gradient variability.', {
    out: { type: 'string', metavar: 'FILE', description: 'CSV path (default SWEEP_DIR/merged.csv)' },
  }, argv, { positionals: ['SWEEP_DIR'] });
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
