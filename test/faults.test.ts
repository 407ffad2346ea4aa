// Faults a long study meets: malformed published files, non-finite training, a lost GPU device, a
// full disk or unwritable output, caches on read-only datasets. Each ends in a named one-line error,
// writes no NaN result, and leaves the last checkpoint readable and resumable.
import { closeSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gpu, initGpu } from '../engine/device.js';
import { tensor } from '../engine/tensor.js';
import { blockActivations } from '../experiments/analysis/dimensionality.js';
import { checkFinite, decodeCheckpoint, encodeCheckpoint } from '../experiments/checkpoint.js';
import { CIFAR10_RECORD_BYTES, CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, loadCifar10 } from '../experiments/data/cifar10.js';
import { loadTinyImageNetC } from '../experiments/data/corrupted.js';
import { InMemoryDataset } from '../experiments/data/dataset.js';
import { prepareCacheDir } from '../experiments/data/tinyimagenet.js';
import { openDataset } from '../experiments/datasets.js';
import { tempPathFor } from '../experiments/io/atomic.js';
import { cacheDirFor, userCacheDir } from '../experiments/io/cache-dir.js';
import { resultJson } from '../experiments/io/result-json.js';
import { DirectoryStore } from '../experiments/io/store-node.js';
import { MemoryStore, type RunStore } from '../experiments/io/store.js';
import { createModel } from '../experiments/models.js';
import { evaluate, train, TrainingDivergedError, type ProgressEvent, type TrainConfig } from '../experiments/train.js';
import { errorLines, runCli } from './fixtures/cli.js';
import { TIN_C_WNIDS, writeTinyImageNetCFixture } from './fixtures/corrupted.js';
import { writeCifar10Fixture } from './fixtures/datasets.js';
import { NO_GPU_MESSAGE } from './fixtures/no-gpu-hooks.js';
import { rejects, setupGpu } from './helpers.js';

test.before(setupGpu);

const dir = mkdtempSync(join(tmpdir(), 'faults-'));
const scratch = (name: string) => {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  return d;
};

const config: TrainConfig = {
  model: 'resnet20', shortcut: 'A', data: 'mnist', epochs: 2, batchSize: 32, lr: 0.05, schedule: 'step', milestones: [0.5, 0.75],
  momentum: 0.9, weightDecay: 5e-4, nesterov: false, seed: 3, alpha: 0, augmentPadding: 2, augmentFlip: false,
  limitTrain: 64, limitTest: 32, evalBatchSize: 32,
};

async function weights(store: RunStore, name = 'model.safetensors'): Promise<Record<string, number[]>> {
  const { tensors } = decodeCheckpoint(await store.readBytes(name), name);
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Array.from(t.data as ArrayLike<number | bigint>, Number)]));
}

/** A checkpoint file that records its model and dataset, as a finished run's model.safetensors does. */
async function checkpointFor(data: 'mnist' | 'cifar10', edit?: (tensors: Record<string, { data: ArrayLike<number | bigint> }>) => void): Promise<Uint8Array> {
  const model = createModel({ model: 'resnet20', dataset: data, numClasses: 10, shortcut: 'A' });
  const bytes = await encodeCheckpoint(model, null, null, { model: 'resnet20', data, numClasses: 10, shortcut: 'A' });
  model.dispose();
  if (!edit) return bytes;
  // Edit the decoded tensors in place: they view the file's bytes.
  edit(decodeCheckpoint(bytes, 'edit').tensors);
  return bytes;
}

/** A one-line error (exit 1), no stack trace, no GPU started. */
function oneLineFailure(r: Awaited<ReturnType<typeof runCli>>, pattern: RegExp, what: string): void {
  const lines = errorLines(r);
  assert.is(r.code, 1, `${what}: exit ${r.code}\n${r.out}`);
  assert.is(lines.length, 1, `${what}: one line, got\n${r.stderr}`);
  assert.match(lines[0], pattern, what);
  assert.not.match(r.out, new RegExp(NO_GPU_MESSAGE), `${what}: no GPU started`);
}

test('CIFAR-10: empty, short or ragged batch files are named errors; each must hold the published 10,000 records', async () => {
  const empty = scratch('cifar-empty');
  for (const f of [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE]) writeFileSync(join(empty, f), '');
  await rejects(() => loadCifar10(empty), /CIFAR-10: .*data_batch_1\.bin is empty \(the published file holds 10,000 records of 3,073 bytes: 30,730,000 bytes\)/, 'empty');
  // Full-size files are sparse: no disk space and no reading, the sizes alone are checked first.
  const short = scratch('cifar-short');
  const sized = (name: string, records: number, extra = 0) => {
    const fd = openSync(join(short, name), 'w');
    ftruncateSync(fd, records * CIFAR10_RECORD_BYTES + extra);
    closeSync(fd);
  };
  for (const f of CIFAR10_TRAIN_FILES) sized(f, 10_000);
  sized(CIFAR10_TEST_FILE, 9_999);
  await rejects(() => loadCifar10(short), /test_batch\.bin holds 9999 records \(the published file holds 10,000 records/, 'short');
  sized(CIFAR10_TEST_FILE, 10_000, 1);
  await rejects(() => loadCifar10(short), /test_batch\.bin is truncated: 30730001 bytes is not a whole number of 3073-byte records/, 'ragged');
  await rejects(() => loadCifar10(short, { recordsPerFile: 'any' }), /is truncated/, 'ragged with any count');
  // The small fixture is accepted only when told any count will do.
  const small = scratch('cifar-small');
  writeCifar10Fixture(small);
  await rejects(() => loadCifar10(small), /data_batch_1\.bin holds 7 records/, 'fixture at the published count');
  assert.is(loadCifar10(small, { recordsPerFile: 'any' }).test.size, 5);
});

test('eval: empty CIFAR-10 files or NaN weights fail in one line before any GPU starts, writing nothing', async () => {
  const run = scratch('eval-run');
  writeFileSync(join(run, 'cifar.safetensors'), await checkpointFor('cifar10'));
  const empty = scratch('eval-cifar-empty');
  for (const f of [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE]) writeFileSync(join(empty, f), '');
  const r = await runCli(['eval', '--checkpoint', join(run, 'cifar.safetensors'), '--data-dir', empty], { noGpu: true });
  oneLineFailure(r, /^CIFAR-10: .*data_batch_1\.bin is empty/, 'empty CIFAR-10');
  const nan = await checkpointFor('mnist', (tensors) => ((tensors['layer2.1.conv1.weight'].data as Float32Array)[7] = NaN));
  writeFileSync(join(run, 'nan.safetensors'), nan);
  const n = await runCli(['eval', '--checkpoint', join(run, 'nan.safetensors')], { noGpu: true });
  oneLineFailure(n, /nan\.safetensors: tensor 'layer2\.1\.conv1\.weight' holds NaN at element 7$/, 'NaN weights');
  assert.equal(readdirSync(run).sort(), ['cifar.safetensors', 'nan.safetensors'], 'no result written');
});

test('no NaN results: zero images is an error, and result JSON refuses non-finite numbers', async () => {
  const model = createModel({ model: 'resnet20', dataset: 'mnist', numClasses: 10, shortcut: 'A' });
  const none = new InMemoryDataset('empty-test', 32, 32, 10, new Uint8Array(0), new Int32Array(0));
  await rejects(() => evaluate(model, none, 8), /empty-test: no samples to evaluate/, 'zero images');
  // A batch size of 0 once looped forever allocating buffers until the process crashed.
  const images = tensor(new Float32Array(2 * 32 * 32 * 3), [2, 32, 32, 3]);
  assert.throws(() => blockActivations(model, images, 0), /block activations: batch size must be a positive integer, got 0/);
  images.dispose();
  model.dispose();
  assert.throws(() => resultJson({ accuracy: 0.5, points: [{ eps: 0, accuracy: NaN }] }, 'attack.json'), /attack\.json: refusing to write a non-finite result \(points\[0\]\.accuracy = NaN\)/);
  assert.throws(() => resultJson({ layers: [{ cv: Infinity }] }, 'x'), /layers\[0\]\.cv = Infinity/);
  assert.is(resultJson({ a: 1, b: null, c: [0.5] }, 'x'), '{"a":1,"b":null,"c":[0.5]}\n');
  assert.throws(() => checkFinite({ w: { dtype: 'F32', data: Float32Array.of(0, -Infinity) } }, 'ckpt'), /ckpt: tensor 'w' holds -Infinity at element 1/);
});

test('α = ±100 with a huge learning rate: training stops naming the step that went non-finite and the last good checkpoint', async () => {
  // (Batch norm keeps ResNet20 finite at α = ±100 up to lr ≈ 10; lr 1e6 overflows within 3 steps.)
  const data = await openDataset('mnist', { limitTrain: 96, limitTest: 32 });
  const io = { train: data.train, test: data.test, numClasses: 10 };
  const diverge = async (c: TrainConfig, extra: Partial<Parameters<typeof train>[1]>) => {
    try {
      (await train(c, { ...io, store: new MemoryStore(), ...extra })).model.dispose();
    } catch (e) {
      assert.instance(e, TrainingDivergedError);
      assert.not.match((e as Error).message, /\n/, 'one line');
      return (e as Error).message;
    }
    assert.unreachable(`α = ${c.alpha}: the run did not diverge`);
    return '';
  };
  for (const alpha of [100, -100]) {
    const diverging: TrainConfig = { ...config, alpha, lr: 1e6, epochs: 1, batchSize: 16, schedule: 'constant', limitTrain: 96 };
    // Checked after every step, the first non-finite loss is seen at once...
    const exact = await diverge(diverging, { logEvery: 1 });
    const step = Number(/^train: the loss became (?:NaN|-?Infinity) at step (\d+) \(epoch 1, batch \d+\) with α = -?100 and lr 1000000; stopped without saving anything from that step on; no checkpoint has been written yet\. Lower --lr/.exec(exact)?.[1]);
    assert.ok(step >= 2, exact);
    // ...checked only at the end of the epoch, the same step is named from the trail of running sums...
    if (alpha > 0) {
      const late = await diverge(diverging, { logEvery: 1000 });
      assert.match(late, new RegExp(`the loss became (NaN|-?Infinity) at step ${step} `), 'traced back to the step');
    }
    // ...and with a checkpoint after every step, nothing non-finite (loss or weights) is ever saved.
    const runDir = join(dir, `diverge-${alpha}`);
    let message = '';
    try {
      (await train(diverging, { ...io, store: new DirectoryStore(runDir), checkpointEvery: 1, logEvery: 1000 })).model.dispose();
    } catch (e) {
      message = (e as Error).message;
    }
    const named = /became (?:NaN|-?Infinity) at (?:or before )?step (\d+) .*the last good checkpoint is .*diverge--?100\/checkpoint\.safetensors \(step (\d+); --resume continues from it\)/.exec(message);
    assert.ok(named, message);
    const [bad, good] = [Number(named![1]), Number(named![2])];
    assert.ok(good < bad && bad <= step, message);
    const checkpoint = decodeCheckpoint(readFileSync(join(runDir, 'checkpoint.safetensors')), 'checkpoint');
    assert.is(checkpoint.position?.globalStep, good);
    checkFinite(checkpoint.tensors, 'the last checkpoint');
    assert.equal(readdirSync(runDir).sort(), ['checkpoint.safetensors', 'config.json'], 'no model, result or temp files');
  }
});

test('device lost mid-training: the error names the op and the intact checkpoint; --resume on a new device finishes identically', async () => {
  const data = await openDataset('mnist', { limitTrain: 64, limitTest: 32 });
  const io = { train: data.train, test: data.test, numClasses: 10 };
  const whole = new MemoryStore('whole');
  (await train(config, { ...io, store: whole })).model.dispose();
  const runDir = join(dir, 'device-loss');
  const store = new DirectoryStore(runDir);
  const lose = (e: ProgressEvent) => {
    if (e.phase === 'train' && e.epoch === 2 && e.step === 1) gpu().device.destroy();
  };
  try {
    await train(config, { ...io, store, checkpointEvery: 1, logEvery: 1, progress: lose });
    assert.unreachable('trained on a destroyed device');
  } catch (e) {
    const message = (e as Error).message;
    assert.not.match(message, /\n/, 'one line');
    assert.match(message, /^GPU device lost \(destroyed: .*\) at (op \S+|reading back .*tensor)/);
    assert.match(message, /the last command buffer submitted held \d+ op\(s\): /);
    assert.match(message, /the last good checkpoint is .*device-loss\/checkpoint\.safetensors \(step 2; --resume continues from it\)$/);
  }
  const checkpoint = decodeCheckpoint(readFileSync(join(runDir, 'checkpoint.safetensors')), 'checkpoint');
  assert.is(checkpoint.position?.globalStep, 2, 'the checkpoint of the end of epoch 1 is intact');
  // A new device (the old one cannot come back), then --resume.
  await initGpu();
  const resumed = await train(config, { ...io, store, resume: true });
  assert.ok(resumed.finished);
  resumed.model.dispose();
  assert.equal(await weights(store), await weights(whole), 'bit-identical to the uninterrupted run');
});

test('a full disk fails the checkpoint write cleanly: the previous checkpoint stays readable and resumable', async () => {
  if (!existsSync('/dev/full')) {
    console.log('  (no /dev/full on this system: the full-disk case is skipped)');
    return;
  }
  const data = await openDataset('mnist', { limitTrain: 64, limitTest: 32 });
  const io = { train: data.train, test: data.test, numClasses: 10 };
  const runDir = join(dir, 'disk-full');
  const store = new DirectoryStore(runDir);
  const checkpoint = join(runDir, 'checkpoint.safetensors');
  // From step 2 on, every byte of the next checkpoint goes to /dev/full (ENOSPC), as on a full disk.
  const fill = (e: ProgressEvent) => {
    if (e.phase === 'train' && e.epoch === 1 && e.step === 2) symlinkSync('/dev/full', tempPathFor(checkpoint));
  };
  try {
    await train(config, { ...io, store, checkpointEvery: 1, logEvery: 1, progress: fill });
    assert.unreachable('wrote to a full disk');
  } catch (e) {
    assert.match((e as Error).message, /checkpoint\.safetensors: atomic write failed: ENOSPC: no space left on device.*; the last good checkpoint is .*checkpoint\.safetensors \(step 1; --resume continues from it\)$/);
  }
  assert.is(decodeCheckpoint(readFileSync(checkpoint), 'checkpoint').position?.globalStep, 1);
  assert.equal(readdirSync(runDir).sort(), ['checkpoint.safetensors', 'config.json', 'metrics.csv'], 'the temp file (here a link) is gone');
  const resumed = await train(config, { ...io, store, resume: true });
  assert.ok(resumed.finished);
  resumed.model.dispose();
  // An output directory that cannot exist (a file is in the way): a named error, before any training.
  const blocker = join(dir, 'not-a-directory');
  writeFileSync(blocker, '');
  await rejects(() => train(config, { ...io, store: new DirectoryStore(join(blocker, 'run')) }), /not-a-directory\/run\/config\.json: atomic write failed: (ENOTDIR|EEXIST)/, 'file in the way');
});

test('decode caches: --cache-dir defaults, an unusable cache folder is a named error, Tiny-ImageNet-C cache labels are range-checked', async () => {
  const data = scratch('cache-data');
  assert.is(cacheDirFor(data), join(data, '.cache'), 'a writable data directory keeps its cache inside');
  assert.is(cacheDirFor(data, 'elsewhere'), join(process.cwd(), 'elsewhere'));
  const readOnly = ['/proc/self', '/sys'].find((d) => existsSync(d) && cacheDirFor(d) !== join(d, '.cache'));
  if (readOnly) assert.match(cacheDirFor(readOnly), new RegExp(`^${userCacheDir()}/[^/]+-[0-9a-f]{12}$`), 'a read-only dataset caches in the user cache directory');
  const blocker = join(data, 'file');
  writeFileSync(blocker, '');
  await rejects(() => prepareCacheDir(join(blocker, 'cache'), 'Tiny ImageNet'), /^Tiny ImageNet: cannot write the decode cache in .*file\/cache \((ENOTDIR|EEXIST)\); pass --cache-dir DIR with a writable folder$/, 'unusable cache folder');

  const fx = writeTinyImageNetCFixture(scratch('tin-c'), 'fog', [2]);
  const first = await loadTinyImageNetC(fx.dir, 'fog', 2, { wnidsFile: fx.wnidsFile });
  assert.is(first.cacheStatus, 'built');
  await first.close();
  // A label outside the wnids in an otherwise consistent cache: rebuilt, never returned.
  const labelsPath = join(fx.dir, '.cache', 'fog-2.labels.i32');
  const raw = readFileSync(labelsPath);
  raw.writeInt32LE(TIN_C_WNIDS.length + 4, 4);
  writeFileSync(labelsPath, raw);
  const again = await loadTinyImageNetC(fx.dir, 'fog', 2, { wnidsFile: fx.wnidsFile });
  assert.is(again.cacheStatus, 'built');
  assert.match(again.cacheReason, /fog-2\.labels\.i32: label 7 at 1 is outside \[0, 3\)/);
  assert.equal(Array.from(again.labels), fx.severities[0].labels);
  await again.close();
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
