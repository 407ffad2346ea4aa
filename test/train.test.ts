import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeCheckpoint } from '../experiments/checkpoint.js';
import { openDataset } from '../experiments/datasets.js';
import { MemoryStore } from '../experiments/io/store.js';
import { NORMALIZATION } from '../experiments/models.js';
import { learningRate, train, type TrainConfig } from '../experiments/train.js';
import { setupGpu } from './helpers.js';
import { convTapWindow, setConvTapWindow } from '../engine/ops/conv.js';

test.before(setupGpu);

const config: TrainConfig = {
  model: 'resnet20', shortcut: 'A', data: 'mnist', epochs: 2, batchSize: 32, lr: 0.05, schedule: 'step', milestones: [0.5, 0.75],
  momentum: 0.9, weightDecay: 5e-4, nesterov: false, seed: 3, alpha: 0, augmentPadding: 2, augmentFlip: true,
  limitTrain: 96, limitTest: 64, evalBatchSize: 64,
};

async function data() {
  return openDataset('mnist', { limitTrain: 96, limitTest: 64 });
}

async function weights(store: MemoryStore): Promise<Record<string, number[]>> {
  const { tensors } = decodeCheckpoint(await store.readBytes('model.safetensors'), 'model');
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Array.from(t.data as ArrayLike<number | bigint>, Number)]));
}

test('an interrupted run resumed from its mid-epoch checkpoint ends with bit-identical weights', async () => {
  const d = await data();
  const io = { train: d.train, test: d.test, numClasses: 10 };
  const whole = new MemoryStore('whole');
  const a = await train(config, { ...io, store: whole });
  assert.ok(a.finished);
  a.model.dispose();
  const parts = new MemoryStore('parts');
  const first = await train(config, { ...io, store: parts, checkpointEvery: 1, stopAfterSteps: 4 });
  assert.not.ok(first.finished);
  first.model.dispose();
  // The run stopped after step 4 of 6 (mid epoch 2); a fresh trainer resumes from the checkpoint.
  const second = await train(config, { ...io, store: parts, resume: true });
  assert.ok(second.finished);
  second.model.dispose();
  assert.equal(await weights(parts), await weights(whole));
  // Metrics agree too, except the timing columns.
  const untimed = (csv: string) => csv.trim().split('\n').map((line) => line.split(',').slice(0, 8).join(','));
  assert.equal(untimed(await parts.readText('metrics.csv')), untimed(await whole.readText('metrics.csv')));
  assert.ok(await parts.exists('result.json'));
  // The model file says how to feed the model: the dataset's normalisation, class count and names.
  const model = decodeCheckpoint(await whole.readBytes('model.safetensors'), 'model');
  assert.equal(model.interface, { ...NORMALIZATION.mnist, numClasses: 10, classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
});

test('a run started without the convolutions\' tap window resumes in its own order, and the process keeps its setting', async () => {
  const d = await data();
  const io = { train: d.train, test: d.test, numClasses: 10 };
  const short = { ...config, epochs: 1 };
  const whole = new MemoryStore('plain-whole');
  const parts = new MemoryStore('plain-parts');
  setConvTapWindow(false);
  try {
    (await train(short, { ...io, store: whole })).model.dispose();
    (await train(short, { ...io, store: parts, checkpointEvery: 1, stopAfterSteps: 2 })).model.dispose();
  } finally {
    setConvTapWindow(true);
  }
  const recorded = JSON.parse(await parts.readText('config.json'));
  assert.is(recorded.config.convTapWindow, false);
  // A run recorded before the window existed summed the plain way too.
  delete recorded.config.convTapWindow;
  await parts.write('config.json', JSON.stringify(recorded));
  (await train(short, { ...io, store: parts, resume: true })).model.dispose();
  assert.equal(await weights(parts), await weights(whole));
  assert.is(convTapWindow(), true, 'the resumed run restored the process\'s setting');
});

test('a run directory is never silently reused or mixed', async () => {
  const d = await data();
  const store = new MemoryStore('run');
  const io = { train: d.train, test: d.test, numClasses: 10, store };
  (await train({ ...config, epochs: 1 }, io)).model.dispose();
  try {
    await train({ ...config, epochs: 1 }, io);
    assert.unreachable('reused a run directory');
  } catch (e) {
    assert.match(String(e), /already holds a run; pass --resume/);
  }
  try {
    await train({ ...config, epochs: 1, lr: 0.2 }, { ...io, resume: true });
    assert.unreachable('mixed configurations');
  } catch (e) {
    assert.match(String(e), /different configuration:\n {2}lr: 0.05 in the run vs 0.2 now/);
  }
  // The K-split policy orders sums as the tile does: a run started under another one is refused.
  const recorded = JSON.parse(await store.readText('config.json'));
  const target = recorded.config.gemmSplitTarget;
  assert.ok(target === 1024 || target === 4096, `recorded split target ${target}`);
  recorded.config.gemmSplitTarget = target * 2;
  await store.write('config.json', JSON.stringify(recorded));
  try {
    await train({ ...config, epochs: 1 }, { ...io, resume: true });
    assert.unreachable('mixed split policies');
  } catch (e) {
    assert.match(String(e), new RegExp(`different configuration:\\n {2}gemmSplitTarget: ${target * 2} in the run vs ${target} now`));
  }
  // A run recorded before the policy was recorded resumes.
  delete recorded.config.gemmSplitTarget;
  await store.write('config.json', JSON.stringify(recorded));
  (await train({ ...config, epochs: 1 }, { ...io, resume: true })).model.dispose();
});

test('learning-rate schedules', () => {
  const c = { ...config, epochs: 200, lr: 0.1 };
  assert.is(learningRate(c, 0), 0.1);
  assert.ok(Math.abs(learningRate(c, 100) - 0.01) < 1e-12);
  assert.ok(Math.abs(learningRate(c, 150.5) - 0.001) < 1e-12);
  assert.ok(Math.abs(learningRate({ ...c, schedule: 'cosine' }, 100) - 0.05) < 1e-12);
  assert.is(learningRate({ ...c, schedule: 'constant' }, 199), 0.1);
});

const cli = (args: string[]) => spawn(process.execPath, ['dist/experiments/cli.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
const finished = (child: ReturnType<typeof cli>) => new Promise<{ code: number | null; out: string }>((resolve) => {
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  child.on('exit', (code) => resolve({ code, out }));
});

test('train CLI: SIGKILL mid-epoch, then --resume, matches an uninterrupted run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'train-cli-'));
  const common = ['train', '--epochs', '2', '--batch-size', '32', '--lr', '0.05', '--limit-train', '96', '--limit-test', '64', '--seed', '5', '--log-every', '1'];
  try {
    const whole = await finished(cli([...common, '--out', join(dir, 'whole')]));
    assert.is(whole.code, 0, whole.out);
    const killed = cli([...common, '--out', join(dir, 'killed'), '--checkpoint-every', '1']);
    const done = finished(killed);
    const checkpoint = join(dir, 'killed', 'checkpoint.safetensors');
    // Kill once the run is past a mid-epoch checkpoint of its second epoch.
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 50));
      if (!existsSync(checkpoint)) continue;
      try {
        const pos = decodeCheckpoint(new Uint8Array(readFileSync(checkpoint)), checkpoint).position!;
        if (pos.epoch === 1 && pos.batch >= 1) break;
      } catch {
        // a rename can race the read; try again
      }
    }
    killed.kill('SIGKILL');
    const k = await done;
    assert.is(k.code, null, 'the run finished before it could be killed');
    assert.not.ok(existsSync(join(dir, 'killed', 'model.safetensors')));
    const resumed = await finished(cli([...common, '--out', join(dir, 'killed'), '--resume']));
    assert.is(resumed.code, 0, resumed.out);
    assert.match(resumed.out, /resuming/);
    const a = decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'whole', 'model.safetensors'))), 'whole').tensors;
    const b = decodeCheckpoint(new Uint8Array(readFileSync(join(dir, 'killed', 'model.safetensors'))), 'killed').tensors;
    for (const name of Object.keys(a)) assert.equal(Array.from(b[name].data as Float32Array), Array.from(a[name].data as Float32Array), name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train CLI rejects bad arguments with named errors', async () => {
  const bad = async (args: string[], pattern: RegExp) => {
    const r = await finished(cli(['train', '--out', join(tmpdir(), 'never-created'), ...args]));
    assert.is(r.code, 2, r.out);
    assert.match(r.out, pattern);
  };
  await bad(['--alpha', 'abc'], /train --alpha: 'abc' is not a number/);
  await bad(['--model', 'vgg'], /train --model: 'vgg' is not one of resnet20, resnet18/);
  await bad(['--epochs'], /train --epochs: needs a value/);
  await bad(['--bogus', '1'], /unknown option --bogus/);
});

test.run();
