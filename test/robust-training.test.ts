// Robust training (docs/robust-training.md): spec parsing and its errors, the ε warm-up, the
// adversarial example search (inside the ε-ball, no parameter gradient, running statistics kept),
// corruption augmentation (the evaluation's kernels on the chosen samples, the others untouched),
// config.json's fields and bit-exact resumption. The MNIST effect tests are in
// robust-training-mnist.test.ts.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad } from '../engine/autograd.js';
import { imagesToFloat, uploadImagesU8 } from '../engine/ops/augment.js';
import { Generator } from '../engine/ops/random.js';
import { slice } from '../engine/ops/shape.js';
import { scope, tensor } from '../engine/tensor.js';
import { ResNet } from '../models/resnet.js';
import { corruptNow, quantize } from '../experiments/corruptions/index.js';
import { decodeCheckpoint } from '../experiments/checkpoint.js';
import { readRange } from '../experiments/data/dataset.js';
import { openDataset } from '../experiments/datasets.js';
import { MemoryStore } from '../experiments/io/store.js';
import { NORMALIZATION } from '../experiments/models.js';
import { adversarialExamples } from '../experiments/robust/adversarial.js';
import { applyCorruptionPlan, planCorruptions, reorderBatch } from '../experiments/robust/corruption-augment.js';
import { EXTRA_CORRUPTIONS, adversarialEps, parseAdversarialSpec, parseAugmentSpec, trainedOnCorruptions } from '../experiments/robust/spec.js';
import { robustTrainingRecord, train, type TrainConfig } from '../experiments/train.js';
import { setupGpu, runCli } from './helpers.js';

test.before(setupGpu);

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b));

test('--adversarial specs: defaults, fractions, options', () => {
  const pgd = parseAdversarialSpec('pgd:linf:8/255');
  assert.equal({ ...pgd, eps: 0, stepSize: 0 }, { method: 'pgd', norm: 'linf', eps: 0, steps: 7, stepSize: 0, warmupEpochs: 0 });
  assert.ok(close(pgd.eps, 8 / 255) && close(pgd.stepSize, (2.5 * 8) / 255 / 7), `ε ${pgd.eps}, step ${pgd.stepSize}`);
  const custom = parseAdversarialSpec('pgd:linf:0.3:steps=10:step=0.01', 2);
  assert.equal(custom, { method: 'pgd', norm: 'linf', eps: 0.3, steps: 10, stepSize: 0.01, warmupEpochs: 2 });
  assert.equal(parseAdversarialSpec('pgd:l2:1.5:step=2/10:steps=3'), { method: 'pgd', norm: 'l2', eps: 1.5, steps: 3, stepSize: 0.2, warmupEpochs: 0 });
  const fast = parseAdversarialSpec('fgsm-rs:linf:0.2');
  assert.equal({ ...fast, stepSize: 0 }, { method: 'fgsm-rs', norm: 'linf', eps: 0.2, steps: 1, stepSize: 0, warmupEpochs: 0 });
  assert.ok(close(fast.stepSize, 0.25));
});

test('malformed --adversarial specs are named errors', () => {
  const cases: [string, RegExp][] = [
    ['', /unknown method ''/],
    ['madry:linf:0.3', /unknown method 'madry'.*expected pgd:linf:EPS/],
    ['pgd', /missing norm in 'pgd'/],
    ['pgd:l1:0.3', /unknown norm 'l1'/],
    ['pgd:linf', /missing ε in 'pgd:linf'/],
    ['pgd:linf:', /missing ε/],
    ['pgd:linf:abc', /--adversarial ε: 'abc' is not a number/],
    ['pgd:linf:0', /ε: must be > 0, got 0/],
    ['pgd:linf:-0.1', /ε: must be > 0/],
    ['pgd:linf:2', /L∞ radius above 1 exceeds the \[0, 1\] pixel range/],
    ['pgd:linf:0.3:steps=0', /steps: expected an integer ≥ 1, got '0'/],
    ['pgd:linf:0.3:steps=2.5', /steps: expected an integer ≥ 1, got '2.5'/],
    ['pgd:linf:0.3:step=0', /step: must be > 0/],
    ['pgd:linf:0.3:steps=3:steps=4', /option 'steps' is given twice/],
    ['pgd:linf:0.3:restarts=2', /unknown option 'restarts'.*expected steps or step/],
    ['pgd:linf:0.3:7', /'7' in 'pgd:linf:0.3:7' is not an option of the form key=value/],
    ['fgsm-rs:l2:1', /fgsm-rs is the L∞ method/],
    ['fgsm-rs:linf:0.3:steps=2', /unknown option 'steps'.*this method takes none/],
  ];
  for (const [spec, pattern] of cases) assert.throws(() => parseAdversarialSpec(spec), pattern, spec);
  assert.throws(() => parseAdversarialSpec('pgd:linf:0.3', -1), /--adversarial-warmup: expected an integer ≥ 0/);
});

test('--augment-corruptions specs; benchmark corruptions in the set are recorded', () => {
  assert.equal(parseAugmentSpec('extra'), { corruptions: [...EXTRA_CORRUPTIONS], p: 0.5 });
  assert.equal(EXTRA_CORRUPTIONS, ['speckle_noise', 'gaussian_blur', 'spatter', 'saturate']);
  assert.equal(parseAugmentSpec(':p=0.25'), { corruptions: [...EXTRA_CORRUPTIONS], p: 0.25 });
  // Canonical order and no duplicates, whatever the spelling.
  const mixed = parseAugmentSpec('fog, saturate,extra:p=1');
  assert.equal(mixed, { corruptions: ['speckle_noise', 'gaussian_blur', 'fog', 'spatter', 'saturate'], p: 1 });
  assert.equal(trainedOnCorruptions(mixed), ['fog']);
  assert.equal(trainedOnCorruptions(parseAugmentSpec('extra')), []);
  assert.equal(trainedOnCorruptions(null), []);
  assert.equal(robustTrainingRecord({}), { adversarial: null, augmentCorruptions: null, trainedOnCorruptions: [] });
  for (const [spec, pattern] of [['fog,,snow', /empty item/], ['rain', /unknown corruption 'rain'/], ['extra:p=0', /p: must be > 0/], ['extra:p=1.5', /probability must be in \(0, 1\]/], ['extra:q=0.5', /unknown option 'q'/]] as const) {
    assert.throws(() => parseAugmentSpec(spec), pattern, spec);
  }
});

test('ε warm-up: linear from 0 over the warm-up epochs, per step', () => {
  const c = parseAdversarialSpec('pgd:linf:0.3', 2);
  assert.is(adversarialEps(c, 0), 0);
  assert.ok(close(adversarialEps(c, 0.5), 0.075));
  assert.ok(close(adversarialEps(c, 1.5), 0.225));
  assert.is(adversarialEps(c, 2), 0.3);
  assert.is(adversarialEps(c, 7.25), 0.3);
  assert.is(adversarialEps({ ...c, warmupEpochs: 0 }, 0), 0.3);
});

const tinyResNet = (generator: Generator) => new ResNet({ widths: [4, 8, 16], depths: [1, 1, 1], numClasses: 10, shortcut: 'A', ...NORMALIZATION.mnist, init: { generator } });

// Rounding bound of the projected images: ε is rounded to f32 (relative error ≤ u = 2⁻²⁴) and each
// pixel is one f32 sum clean + δ (error ≤ u in [0, 1]); an L2 radius is also scaled by a norm
// summed over D terms in f32 (relative error ≤ D·u).
const U = 2 ** -24;
const ballBound = (norm: 'linf' | 'l2', eps: number, D: number) => (norm === 'linf' ? eps * (1 + 2 * U) + U : eps * (1 + D * U) + Math.sqrt(D) * U);

test('an adversarial step stays in the ε-ball and [0, 1], reaches its boundary, and leaves parameters and running statistics alone', async () => {
  const d = await openDataset('mnist', { limitTrain: 16, limitTest: 16 });
  const { images, labels } = await readRange(d.train, 0, 16);
  const shape = [16, d.train.height, d.train.width, 3];
  const D = shape[1] * shape[2] * 3;
  // The f32 images the GPU perturbs (k·fl(1/255)), so the bound below is about the step alone.
  const cleanTensor = imagesToFloat(uploadImagesU8(images, shape), shape);
  const clean = await cleanTensor.toArray();
  cleanTensor.dispose();
  const model = tinyResNet(new Generator(4, { stream: 0 }));
  model.train();
  const buffersBefore = await Promise.all(model.namedBuffers().map(([, t]) => t.toArray()));
  const countBefore = (await model.exportState())['bn1.num_batches_tracked'].data[0];
  for (const spec of ['pgd:linf:0.3:steps=3', 'fgsm-rs:linf:0.2', 'pgd:l2:2:steps=3'] as const) {
    const config = parseAdversarialSpec(spec);
    for (const eps of [config.eps, config.eps / 2]) {
      const adv = scope(() => {
        const x = imagesToFloat(uploadImagesU8(images, shape), shape);
        return adversarialExamples(model, x, tensor(labels), config, eps, new Generator(9, { stream: 2 })).keep();
      });
      const values = await adv.toArray();
      adv.dispose();
      let largest = 0;
      for (let n = 0; n < 16; n++) {
        let size = 0;
        for (let i = n * D; i < (n + 1) * D; i++) {
          assert.ok(values[i] >= 0 && values[i] <= 1, `${spec}: pixel ${i} = ${values[i]} outside [0, 1]`);
          const delta = Math.abs(values[i] - clean[i]);
          size = config.norm === 'linf' ? Math.max(size, delta) : size + delta * delta;
        }
        if (config.norm === 'l2') size = Math.sqrt(size);
        assert.ok(size <= ballBound(config.norm, eps, D), `${spec} at ε ${eps}: sample ${n} has ‖δ‖ = ${size} > ${ballBound(config.norm, eps, D)}`);
        largest = Math.max(largest, size);
      }
      // The search goes to the edge of the ball (L∞ sign steps reach it; L2 steps of 2.5·ε/K nearly).
      assert.ok(largest >= 0.9 * eps, `${spec} at ε ${eps}: the largest perturbation is only ${largest}`);
    }
  }
  for (const p of model.parameters()) assert.is(p.grad, null, `${p.name} received a gradient`);
  const buffersAfter = await Promise.all(model.namedBuffers().map(([, t]) => t.toArray()));
  assert.equal(buffersAfter.map((b) => Array.from(b)), buffersBefore.map((b) => Array.from(b)), 'running statistics changed');
  assert.is((await model.exportState())['bn1.num_batches_tracked'].data[0], countBefore);
  // ε = 0 (the start of a warm-up) trains on the clean images.
  const same = scope(() => {
    const x = imagesToFloat(uploadImagesU8(images, shape), shape);
    return adversarialExamples(model, x, tensor(labels), parseAdversarialSpec('pgd:linf:0.3'), 0, new Generator(1)).keep();
  });
  assert.equal(Array.from(await same.toArray()), Array.from(clean));
  same.dispose();
  model.dispose();
});

test('corruption augmentation: the chosen samples get the evaluation kernels, the rest stay clean', async () => {
  const d = await openDataset('mnist', { limitTrain: 32, limitTest: 16 });
  const batch = { ...(await readRange(d.train, 0, 32)), count: 32 };
  const config = { corruptions: parseAugmentSpec('gaussian_blur,saturate').corruptions, p: 0.5 };
  let state = 7;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const plan = planCorruptions(32, config, random);
  assert.equal([...plan.order].sort((a, b) => a - b), Array.from({ length: 32 }, (_, i) => i), 'the order is a permutation');
  const corrupted = plan.groups.reduce((n, g) => n + g.count, 0);
  assert.ok(corrupted > 4 && corrupted < 28, `${corrupted} of 32 corrupted with p = 0.5`);
  let next = 32 - corrupted;
  for (const g of plan.groups) {
    assert.is(g.start, next, 'groups are contiguous, after the clean samples');
    assert.ok(config.corruptions.includes(g.name) && g.severity >= 1 && g.severity <= 5);
    next += g.count;
  }
  const reordered = reorderBatch(batch, plan.order);
  const H = d.train.height;
  const W = d.train.width;
  const shape = [32, H, W, 3];
  const pixels = H * W * 3;
  plan.order.forEach((from, to) => assert.is(reordered.labels[to], batch.labels[from]));
  // Both corruptions are deterministic, so each group must equal the kernels applied to it alone.
  const [augmented, plain, expected] = noGrad(() => scope(() => {
    const x = imagesToFloat(uploadImagesU8(reordered.images, shape), shape);
    const reference = plan.groups.map((g) => quantize(corruptNow(slice(x, [g.start, 0, 0, 0], [g.count, H, W, 3]), g.name, g.severity, { generator: new Generator(0), parameters: 'cifar10' })).keep());
    const out = applyCorruptionPlan(imagesToFloat(uploadImagesU8(reordered.images, shape), shape), plan, new Generator(3));
    return [out.keep(), x.keep(), reference] as const;
  }));
  const values = await augmented.toArray();
  const cleanRows = (32 - corrupted) * pixels;
  assert.equal(Array.from(values.subarray(0, cleanRows)), Array.from((await plain.toArray()).subarray(0, cleanRows)), 'clean samples changed');
  plain.dispose();
  for (const [k, g] of plan.groups.entries()) {
    const want = await expected[k].toArray();
    assert.equal(Array.from(values.subarray(g.start * pixels, (g.start + g.count) * pixels)), Array.from(want), `${g.name} severity ${g.severity}`);
    expected[k].dispose();
  }
  augmented.dispose();
});

const base: TrainConfig = {
  model: 'resnet20', shortcut: 'A', data: 'mnist', epochs: 2, batchSize: 16, lr: 0.05, schedule: 'constant', milestones: [0.5, 0.75],
  momentum: 0.9, weightDecay: 5e-4, nesterov: false, seed: 2, alpha: 0.5, augmentPadding: 2, augmentFlip: false,
  limitTrain: 48, limitTest: 16, evalBatchSize: 16,
  adversarial: parseAdversarialSpec('pgd:linf:0.3:steps=2', 1), augmentCorruptions: parseAugmentSpec('extra,fog:p=0.5'),
};

test('robust runs record their settings in config.json and resume bit-for-bit', async () => {
  const d = await openDataset('mnist', { limitTrain: 48, limitTest: 16 });
  const io = { train: d.train, test: d.test, numClasses: 10, model: tinyResNet, logEvery: 1000 };
  const whole = new MemoryStore('whole');
  const lines: string[] = [];
  (await train(base, { ...io, store: whole, log: (l) => lines.push(l) })).model.dispose();
  const recorded = JSON.parse(await whole.readText('config.json')).config;
  assert.equal(recorded.adversarial, base.adversarial);
  assert.equal(recorded.augmentCorruptions, { corruptions: ['speckle_noise', 'gaussian_blur', 'fog', 'spatter', 'saturate'], p: 0.5 });
  assert.equal(recorded.trainedOnCorruptions, ['fog']);
  assert.match(lines.join('\n'), /adversarial training: PGD-2 L∞ ε=0.3, step 0.375, warm-up 1 epoch/);
  const parts = new MemoryStore('parts');
  (await train(base, { ...io, store: parts, checkpointEvery: 1, stopAfterSteps: 4 })).model.dispose();
  (await train(base, { ...io, store: parts, resume: true })).model.dispose();
  const weights = async (s: MemoryStore) => Object.entries(decodeCheckpoint(await s.readBytes('model.safetensors'), 'model').tensors).map(([k, t]) => [k, Array.from(t.data as ArrayLike<number | bigint>, Number)]);
  assert.equal(await weights(parts), await weights(whole));
  // A standard run records nulls; a robust run refuses to resume as another regime.
  try {
    await train({ ...base, adversarial: null }, { ...io, store: parts, resume: true });
    assert.unreachable('resumed with another regime');
  } catch (e) {
    assert.match(String(e), /different configuration:\n {2}adversarial: \{.*\} in the run vs null now/);
  }
});


test('train and sweep take the robust-training flags and reject bad ones by name, before any work', async () => {
  const never = join(tmpdir(), 'never-created');
  const cases: [string[], RegExp][] = [
    [['train', '--out', never, '--adversarial', 'pgd:linf:8/255:steps=x'], /^train --adversarial steps: expected an integer ≥ 1, got 'x'/m],
    [['train', '--out', never, '--adversarial-warmup', '2'], /^train --adversarial-warmup: needs --adversarial/m],
    [['train', '--out', never, '--adversarial', 'pgd:linf:0.3', '--adversarial-warmup', '3', '--epochs', '2'], /--adversarial-warmup must be an integer from 0 to --epochs \(2\), got 3/],
    [['train', '--out', never, '--augment-corruptions', 'extra:p=0'], /^train --augment-corruptions p: must be > 0/m],
    [['sweep', '--out', never, '--adversarial', 'fgsm-rs:l2:1'], /^sweep --adversarial: fgsm-rs is the L∞ method/m],
    [['sweep', '--out', never, '--augment-corruptions', 'haze'], /^sweep --augment-corruptions: unknown corruption 'haze'/m],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  results.forEach((r, i) => {
    assert.is(r.code, 2, r.out);
    assert.match(r.out, cases[i][1]);
  });
  assert.not.ok(existsSync(never));
  const help = await runCli(['train', '--help']);
  for (const flag of ['--adversarial SPEC', '--adversarial-warmup N', '--augment-corruptions SET[:p=P]']) assert.ok(help.out.includes(flag), `train --help lacks ${flag}`);
});

test.run();
