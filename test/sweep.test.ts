import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeCheckpoint } from '../experiments/checkpoint.js';
import { openDataset } from '../experiments/datasets.js';
import { MemoryStore } from '../experiments/io/store.js';
import { parseShard, planRuns, shardOf } from '../experiments/sweep.js';
import { train, type TrainConfig } from '../experiments/train.js';
import { setupGpu, runCli } from './helpers.js';


const tinyBase = ['--epochs', '1', '--batch-size', '32', '--limit-train', '64', '--limit-test', '32', '--alphas', '0,-1', '--seeds', '3'];
const tiny = [...tinyBase, '--lr', '0.05'];

test('shards partition the grid; --shard is validated', () => {
  const runs = planRuns([-1, 0, 1], [0, 1]);
  const parts = [0, 1, 2].map((i) => shardOf(runs, { index: i, count: 3 }).map((r) => r.name));
  assert.equal(parts.flat().sort(), runs.map((r) => r.name).sort());
  assert.equal(parseShard('2/4'), { index: 2, count: 4 });
  for (const bad of ['4/4', '1', 'a/b', '-1/2', '1/0']) assert.throws(() => parseShard(bad), /not of the form i\/n/);
  assert.throws(() => planRuns([0, 0], [1]), /listed twice/);
});

test('two sharded workers produce exactly the runs of one unsharded worker; merge collects them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sweep-'));
  try {
    const whole = await runCli(['sweep', ...tiny, '--out', join(dir, 'whole')]);
    assert.is(whole.code, 0, whole.out);
    const [a, b] = await Promise.all([runCli(['sweep', ...tiny, '--out', join(dir, 'sharded'), '--shard', '0/2']), runCli(['sweep', ...tiny, '--out', join(dir, 'sharded'), '--shard', '1/2'])]);
    assert.is(a.code, 0, a.out);
    assert.is(b.code, 0, b.out);
    const names = readdirSync(join(dir, 'whole', 'runs')).sort();
    assert.equal(names, ['alpha=-1_seed=3', 'alpha=0_seed=3']);
    assert.equal(readdirSync(join(dir, 'sharded', 'runs')).sort(), names);
    for (const name of names) {
      const weights = (sweep: string) => decodeCheckpoint(new Uint8Array(readFileSync(join(dir, sweep, 'runs', name, 'model.safetensors'))), name).tensors;
      const [w1, w2] = [weights('whole'), weights('sharded')];
      for (const k of Object.keys(w1)) assert.equal(Array.from(w2[k].data as Float32Array), Array.from(w1[k].data as Float32Array), `${name} ${k}`);
    }
    // A second pass skips finished runs.
    const again = await runCli(['sweep', ...tiny, '--out', join(dir, 'whole')]);
    assert.match(again.out, /finished, skipped/);
    const merged = await runCli(['merge', join(dir, 'sharded')]);
    assert.is(merged.code, 0, merged.out);
    const csv = readFileSync(join(dir, 'sharded', 'merged.csv'), 'utf8').trim().split('\n');
    assert.is(csv.length, 3);
    assert.match(csv[0], /^alpha,seed,run,test_accuracy,test_loss,si_overall,si_layer1\.0,/);
    assert.match(csv[1], /^-1,3,alpha=-1_seed=3,/);
    // Refuses to mix configurations, naming the difference.
    const mixed = await runCli(['sweep', ...tinyBase, '--lr', '0.1', '--out', join(dir, 'whole')]);
    assert.is(mixed.code, 2);
    assert.match(mixed.out, /different configuration; refusing to mix runs:\n {2}lr: 0.05 in the sweep vs 0.1 now/);
    const badShard = await runCli(['sweep', ...tiny, '--out', join(dir, 'x'), '--shard', '3/2']);
    assert.is(badShard.code, 2);
    assert.match(badShard.out, /--shard: '3\/2' is not of the form i\/n/);
    const badAlpha = await runCli(['sweep', '--alphas', '0,abc', '--out', join(dir, 'x')]);
    assert.match(badAlpha.out, /--alphas: 'abc' is not a number/);
    assert.not.ok(existsSync(join(dir, 'x', 'runs')));
    const empty = await runCli(['merge', join(dir, 'x')]);
    assert.is(empty.code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('on MNIST, α = −10 lowers and α = +10 raises test-set selectivity relative to α = 0', async () => {
  await setupGpu();
  const data = await openDataset('mnist', { limitTrain: 512, limitTest: 256 });
  const config: TrainConfig = {
    model: 'resnet20', shortcut: 'A', data: 'mnist', epochs: 2, batchSize: 64, lr: 0.05, schedule: 'step', milestones: [0.5, 0.75],
    momentum: 0.9, weightDecay: 5e-4, nesterov: false, seed: 1, alpha: 0, augmentPadding: 2, augmentFlip: false,
    limitTrain: 512, limitTest: 256, evalBatchSize: 256,
  };
  const si: Record<number, number> = {};
  for (const alpha of [-10, 0, 10]) {
    const store = new MemoryStore(`alpha ${alpha}`);
    const result = await train({ ...config, alpha }, { store, train: data.train, test: data.test, numClasses: 10, logEvery: 100 });
    result.model.dispose();
    si[alpha] = JSON.parse(await store.readText('selectivity.json')).overall;
  }
  assert.ok(si[-10] < si[0] && si[0] < si[10], `test-set SI: α=-10 ${si[-10]}, α=0 ${si[0]}, α=10 ${si[10]}`);
});

test.run();
