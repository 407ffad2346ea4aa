import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { noGrad } from '../engine/autograd.js';
import { BatchNorm, Conv2d, Linear, Module } from '../engine/nn.js';
import { projectedStep, sampleNorms, selectSamples } from '../engine/ops/attack.js';
import { imagesToFloat, uploadImagesU8 } from '../engine/ops/augment.js';
import { tanh } from '../engine/ops/elementwise.js';
import { crossEntropyPerSample, predictions } from '../engine/ops/loss.js';
import { Generator } from '../engine/ops/random.js';
import { globalAvgPool } from '../engine/ops/pool.js';
import { runtime } from '../engine/runtime.js';
import { scope, tensor, type Tensor } from '../engine/tensor.js';
import { accuracyArea, attackBatch, inputGradient, pickExamples, resolveAttack, robustnessCurve, type AttackOptions } from '../experiments/attacks.js';
import { parseStepSize } from '../experiments/cli/attack.js';
import { InMemoryDataset, readRange, subset, type ImageDataset } from '../experiments/data/dataset.js';
import { openDataset } from '../experiments/datasets.js';
import { MemoryStore } from '../experiments/io/store.js';
import { evaluate, train, type TrainConfig } from '../experiments/train.js';
import type { ResNet } from '../models/resnet.js';
import { assertClose, gradCheck, randn, rng, setupGpu, uniform } from './helpers.js';
import { projectedStepRef, sampleNormsRef } from './reference/attack.js';

test.before(setupGpu);

// ---- kernels against the float64 reference -------------------------------------------------------

const N = 5;
const SHAPE = [N, 4, 5, 3];
const SIZE = 4 * 5 * 3 * N;

function cases() {
  const clean = uniform(SIZE, 1, 0, 1);
  // Exact box corners, where the [0, 1] clamp decides.
  for (let i = 0; i < SIZE; i += 7) clean[i] = i % 2 ? 1 : 0;
  const jitter = uniform(SIZE, 3, -0.2, 0.2);
  const origin = clean.map((v, i) => Math.min(1, Math.max(0, v + jitter[i])));
  const direction = randn(SIZE, 2);
  for (let i = 0; i < SIZE; i += 5) direction[i] = 0;
  // Sample 3 has no direction at all: a unit step must leave it where it is.
  direction.fill(0, 3 * (SIZE / N), 4 * (SIZE / N));
  return { clean, origin, direction };
}

// f32 rounding of a few adds/multiplies on O(1) values, plus the f32 norm for L2.
const STEP_BOUND = 2e-6;

for (const norm of ['linf', 'l2'] as const) {
  for (const mode of ['sign', 'unit', 'raw'] as const) {
    test(`projected step ${norm}/${mode} matches the float64 reference`, async () => {
      const { clean, origin, direction } = cases();
      const epsList = norm === 'linf' ? [0.01, 0.1, 0.5] : [0.05, 0.5, 100];
      for (const eps of epsList) {
        for (const withScale of mode === 'unit' ? [false, true] : [false]) {
          const scale = withScale ? Float32Array.from([0.5, 1, 0, 2, 0.25]) : undefined;
          const stepSize = 0.07;
          const got = await scope(() => projectedStep(tensor(origin, SHAPE), tensor(direction, SHAPE), tensor(clean, SHAPE), { norm, eps, stepSize, mode, scale: scale && tensor(scale) })).toArray();
          const expected = projectedStepRef(origin, direction, clean, N, { norm, eps, stepSize, mode, scale });
          assertClose(got, expected, STEP_BOUND, `${norm}/${mode} ε=${eps}${withScale ? ' scaled' : ''}`);
          const delta = Float64Array.from(got, (v, i) => v - clean[i]);
          const norms = norm === 'l2' ? sampleNormsRef(delta, N) : Array.from({ length: N }, (_, n) => Math.max(...delta.subarray(n * (SIZE / N), (n + 1) * (SIZE / N)).map(Math.abs)));
          for (let n = 0; n < N; n++) assert.ok(norms[n] <= eps + 1e-6, `sample ${n}: ‖δ‖ ${norms[n]} > ε ${eps}`);
          assert.ok(got.every((v) => v >= 0 && v <= 1), 'outside [0, 1]');
        }
      }
    });
  }
}

test('ε = 0 returns the clean images bit for bit, whatever the step', async () => {
  const { clean, origin, direction } = cases();
  for (const norm of ['linf', 'l2'] as const) {
    for (const mode of ['sign', 'unit', 'raw'] as const) {
      const got = await scope(() => projectedStep(tensor(origin, SHAPE), tensor(direction, SHAPE), tensor(clean, SHAPE), { norm, eps: 0, stepSize: 0.3, mode })).toArray();
      assert.equal(Array.from(got), Array.from(clean), `${norm}/${mode}`);
    }
  }
});

test('per-sample norms and per-sample select', async () => {
  const x = randn(7 * 130, 4, 3);
  assertClose(await sampleNorms(tensor(x, [7, 10, 13])).toArray(), sampleNormsRef(x, 7), (i) => 1e-6 * (1 + sampleNormsRef(x, 7)[i]), 'norms');
  assert.equal(Array.from(await sampleNorms(tensor(new Float32Array(6), [2, 3])).toArray()), [0, 0]);
  const a = uniform(4 * 6, 5);
  const b = uniform(4 * 6, 6);
  const mask = [1, 0, 0, 1];
  const got = await selectSamples(tensor(mask), tensor(a, [4, 2, 3]), tensor(b, [4, 2, 3])).toArray();
  assert.equal(Array.from(got), Array.from({ length: 24 }, (_, i) => (mask[Math.floor(i / 6)] ? a[i] : b[i])));
});

// ---- input gradients ------------------------------------------------------------------------------

// Smooth (tanh) so finite differences never straddle a ReLU kink.
class Tiny extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;
  readonly fc: Linear;
  constructor() {
    super();
    const generator = new Generator(11);
    this.conv = this.addModule('conv', new Conv2d(3, 4, 3, { padding: 1, generator }));
    this.bn = this.addModule('bn', new BatchNorm(4));
    this.fc = this.addModule('fc', new Linear(4, 3, { generator }));
  }
  forward(x: Tensor): { logits: Tensor } {
    return { logits: this.fc.forward(globalAvgPool(tanh(this.bn.forward(this.conv.forward(x))))) };
  }
}

test('input gradients match finite differences (tiny conv/BN/linear model, eval mode)', async () => {
  const model = new Tiny();
  const shape = [3, 3, 3, 3];
  const x = uniform(3 * 27, 21, 0, 1);
  const labels = Int32Array.from([0, 2, 1]);
  // Non-trivial running statistics first, then eval mode as the attacks use it.
  noGrad(() => scope(() => void model.forward(tensor(uniform(8 * 27, 22, 0, 1), [8, 3, 3, 3]))));
  model.eval();
  const y = tensor(labels);
  await gradCheck('per-sample cross-entropy w.r.t. the input', (input) => crossEntropyPerSample(model.forward(input).logits, y), [{ data: x, shape }], { samples: 8 });
  model.parameters().forEach((p) => {
    p.grad?.dispose();
    p.grad = null;
  });
  // inputGradient itself: Σ of the per-sample losses, parameters left alone, the mode restored.
  model.train();
  const g = await scope(() => inputGradient(model, tensor(x, shape), y)).toArray();
  assert.ok(model.training, 'the model mode is restored');
  assert.ok(model.parameters().every((p) => p.requiresGrad && p.grad === null), 'parameters untouched');
  model.eval();
  const loss = async (data: Float32Array) => Array.from(await scope(() => crossEntropyPerSample(model.forward(tensor(data, shape)).logits, y)).toArray()).reduce((s, v) => s + v, 0);
  const h = 1e-2;
  const scale = Math.max(...Array.from(g, Math.abs));
  const r = rng(3);
  for (let k = 0; k < 8; k++) {
    const i = Math.floor(r() * x.length);
    const plus = x.slice();
    const minus = x.slice();
    plus[i] += h;
    minus[i] -= h;
    const fd = ((await loss(plus)) - (await loss(minus))) / (2 * h);
    assert.ok(Math.abs(fd - g[i]) <= 2e-3 * scale + 2e-2 * Math.abs(fd), `d/dx[${i}]: gradient ${g[i]} vs finite difference ${fd} (max |g| ${scale})`);
  }
  model.dispose();
});

test('robustness curve: skipping broken images gives, exactly, the images no attack at this or a smaller ε flipped', async () => {
  // The tiny model's GEMMs never split K, so every sample's logits and gradient are computed the
  // same way whichever other samples share its batch, and without random starts each per-ε attack
  // is a deterministic function of the sample: the reference below is exact.
  const model = new Tiny();
  const [N, H, W] = [16, 6, 6];
  const pixels = H * W * 3;
  const images = Uint8Array.from(uniform(N * pixels, 31, 0, 255), (v) => Math.round(v));
  noGrad(() => scope(() => void model.forward(tensor(uniform(8 * pixels, 32, 0, 1), [8, H, W, 3]))));
  model.eval();
  const shape = [N, H, W, 3];
  const predicted = await scope(() => noGrad(() => predictions(model.forward(imagesToFloat(uploadImagesU8(images, shape), shape)).logits, tensor(new Int32Array(N))).predicted)).toArray();
  // Every fourth label wrong, so clean mistakes are in the mix.
  const labels = Int32Array.from(predicted, (p, n) => (n % 4 === 3 ? (p + 1) % 3 : p));
  const data = new InMemoryDataset('tiny', H, W, 3, images, labels);
  const eps = [0.3, 0, 0.02, 0.06, 0.12];
  const settings = { norm: 'linf' as const, steps: 3, randomStart: false };
  // Independent per-ε verdicts of the whole set.
  const verdicts = new Map<number, ArrayLike<number>>();
  for (const e of eps) {
    const r = scope(() => attackBatch(model, imagesToFloat(uploadImagesU8(images, shape), shape), tensor(labels), resolveAttack({ ...settings, eps: e })));
    verdicts.set(e, await r.correct.toArray());
    Object.values(r).forEach((t) => t.dispose());
  }
  assert.throws(() => scope(() => attackBatch(model, imagesToFloat(uploadImagesU8(images, shape), shape), tensor(labels), resolveAttack({ ...settings, eps: 0.1 }), undefined, { correct: tensor(new Float32Array(N - 1)), predicted: tensor(new Int32Array(N)) })), /known clean classification must be \[16\]/);
  const inUse = runtime().pool.snapshot().inUseBytes;
  for (const batchSize of [16, 5]) {
    const skip = await robustnessCurve(model, data, { ...settings, eps, batchSize, examples: 6 });
    const every = await robustnessCurve(model, data, { ...settings, eps, batchSize, skipBroken: false });
    assert.is(runtime().pool.snapshot().inUseBytes, inUse, 'GPU memory leaked');
    for (const [k, e] of eps.entries()) {
      const survived = (n: number) => eps.filter((f) => f <= e).every((f) => verdicts.get(f)![n] === 1);
      const expected = Array.from({ length: N }, (_, n) => n).filter(survived).length;
      assert.is(skip.points[k].correct, expected, `batch ${batchSize}, ε ${e}, skipping broken images`);
      assert.is(every.points[k].correct, Array.from(verdicts.get(e)!).reduce((s, v) => s + v, 0), `batch ${batchSize}, ε ${e}, every image`);
      assert.is(skip.points[k].eps, e);
    }
    assert.is(skip.cleanAccuracy, 12 / 16);
    if (batchSize === 16) console.log(`  tiny model, L∞ PGD-3 over ε ${eps.join(', ')}: ${skip.points.map((p) => p.correct).join(', ')} of ${N} survive, ${every.points.map((p) => p.correct).join(', ')} attacked one ε at a time`);
    assert.ok(skip.points[0].correct < skip.points[4].correct && skip.points[4].correct < 12, 'the attacks break some images and not others');
    // Examples: inside the largest ball, and misclassified exactly when some attack broke them.
    const ex = skip.examples!;
    assert.is(ex.eps, 0.3);
    const slots = pickExamples(labels, 6);
    slots.forEach((n, slot) => {
      for (let i = 0; i < pixels; i++) {
        assert.is(ex.clean[slot * pixels + i], Math.fround(images[n * pixels + i] / 255));
        assert.ok(Math.abs(ex.adversarial[slot * pixels + i] - ex.clean[slot * pixels + i]) <= 0.3 + 1e-6, `example ${slot} leaves the ball`);
      }
      const broken = eps.some((f) => verdicts.get(f)![n] === 0);
      assert.is(ex.adversarialPredicted[slot] !== labels[n], broken, `example ${slot} (sample ${n})`);
      assert.is(ex.cleanPredicted[slot], predicted[n]);
    });
  }
  model.dispose();
});

// ---- settings --------------------------------------------------------------------------------------

test('bad settings are errors that name the setting', () => {
  const bad = (options: Partial<AttackOptions>, pattern: RegExp) => {
    try {
      resolveAttack({ norm: 'linf', eps: 0.1, ...options } as AttackOptions);
      assert.unreachable(`accepted ${JSON.stringify(options)}`);
    } catch (e) {
      assert.match(String(e), pattern);
    }
  };
  bad({ eps: -0.1 }, /ε must be a finite number ≥ 0, got -0.1/);
  bad({ eps: NaN }, /ε must be a finite number ≥ 0/);
  bad({ norm: 'l3' as 'l2' }, /unknown norm 'l3' \(expected linf or l2\)/);
  bad({ steps: 0 }, /steps must be an integer ≥ 1, got 0/);
  bad({ steps: 2.5 }, /steps must be an integer ≥ 1, got 2.5/);
  bad({ restarts: 0 }, /restarts must be an integer ≥ 1, got 0/);
  bad({ stepSize: { kind: 'absolute', value: -1 } }, /step size must be a finite number > 0/);
  assert.throws(() => projectedStep(tensor([0.5]), tensor([1]), tensor([0.5]), { norm: 'linf', eps: -1, stepSize: 1, mode: 'sign' }), /eps must be a finite number ≥ 0/);
  assert.throws(() => projectedStep(tensor([0.5, 1]), tensor([1]), tensor([0.5, 1]), { norm: 'l2', eps: 1, stepSize: 1, mode: 'sign' }), /shape mismatch/);
  // Defaults (docs/method.md §7) and FGSM.
  assert.equal(resolveAttack({ norm: 'linf', eps: 0.04 }), { method: 'pgd', norm: 'linf', eps: 0.04, steps: 20, stepSize: 0.01, restarts: 1, randomStart: true });
  assert.is(resolveAttack({ norm: 'l2', eps: 0.5, steps: 10 }).stepSize, 0.125);
  assert.equal(resolveAttack({ norm: 'linf', eps: 0.1, steps: 7, restarts: 3, fgsm: true }), { method: 'fgsm', norm: 'linf', eps: 0.1, steps: 1, stepSize: 0.1, restarts: 1, randomStart: false });
  assert.equal(parseStepSize('eps/4'), { kind: 'relative', factor: 0.25 });
  assert.equal(parseStepSize('0.1*eps'), { kind: 'relative', factor: 0.1 });
  assert.equal(parseStepSize('2/255'), { kind: 'absolute', value: 2 / 255 });
  assert.equal(accuracyArea([{ eps: 0.2, accuracy: 0 }, { eps: 0, accuracy: 1 }, { eps: 0.1, accuracy: 0.5 }]), { auc: 0.1, normalized: 0.5 });
  assert.equal(accuracyArea([{ eps: 0.1, accuracy: 0.3 }]), { auc: 0, normalized: 0.3 });
  assert.equal(pickExamples([1, 1, 2, 2, 3, 1], 4), [0, 1, 2, 4]);
  assert.equal(pickExamples([5, 5], 9), [0, 1]);
});

const cli = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
  const child = spawn(process.execPath, ['dist/experiments/cli.js', 'attack', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  child.on('exit', (code) => resolve({ code, out }));
});

test('attack CLI rejects bad arguments with named errors', async () => {
  const missing = join(tmpdir(), 'no-such-run', 'model.safetensors');
  const cases: [string[], RegExp][] = [
    [['--eps', '0,-1/255'], /attack --eps: ε must be a finite number ≥ 0, got -0.0039/],
    [['--norm', 'l3'], /attack --norm: 'l3' is not one of linf, l2/],
    [['--steps', '0'], /attack --steps: expected an integer ≥ 1, got 0/],
    [['--restarts', '0'], /attack --restarts: expected an integer ≥ 1, got 0/],
  ];
  const results = await Promise.all(cases.map(([args]) => cli(['--checkpoint', missing, ...args])));
  results.forEach((r, i) => {
    assert.is(r.code, 2, r.out);
    assert.match(r.out, cases[i][1]);
  });
});

// ---- a ResNet20 trained on MNIST here ------------------------------------------------------------

const trainConfig: TrainConfig = {
  model: 'resnet20', shortcut: 'A', data: 'mnist', epochs: 1, batchSize: 16, lr: 0.05, schedule: 'cosine', milestones: [0.5, 0.75],
  momentum: 0.9, weightDecay: 0, nesterov: false, seed: 1, alpha: 0, augmentPadding: 0, augmentFlip: false,
  limitTrain: 3072, limitTest: 256, evalBatchSize: 256,
};
let model: ResNet;
let modelBytes: Uint8Array;
let sample: ImageDataset;

test('ResNet20 trained on 3072 MNIST digits for one epoch is > 90% accurate', async () => {
  const d = await openDataset('mnist', { limitTrain: trainConfig.limitTrain!, limitTest: trainConfig.limitTest! });
  const store = new MemoryStore('mnist');
  const result = await train(trainConfig, { store, train: d.train, test: d.test, numClasses: 10, logEvery: 1000 });
  assert.ok(result.testAccuracy > 0.9, `clean accuracy ${result.testAccuracy}`);
  model = result.model;
  modelBytes = await store.readBytes('model.safetensors');
  sample = subset(d.test, Array.from({ length: 32 }, (_, i) => i));
});

test('L∞ PGD on MNIST: ε = 0 is clean accuracy exactly, accuracy falls with ε and is < 10% at ε = 0.3; PGD beats FGSM', async () => {
  const clean = await evaluate(model, sample, 32);
  const eps = [0, 0.1, 0.2, 0.3];
  const inUse = runtime().pool.snapshot().inUseBytes;
  const pgd = await robustnessCurve(model, sample, { norm: 'linf', eps, steps: 5, batchSize: 32, seed: 1 });
  assert.is(runtime().pool.snapshot().inUseBytes, inUse, 'GPU memory leaked');
  const acc = pgd.points.map((p) => p.accuracy);
  console.log(`  MNIST ResNet20, ${sample.size} digits, L∞ PGD-5: ${pgd.points.map((p) => `ε ${p.eps}: ${(100 * p.accuracy).toFixed(1)}%`).join(', ')} (${pgd.seconds.toFixed(1)} s)`);
  assert.is(acc[0], clean.accuracy, 'ε = 0');
  assert.is(pgd.cleanAccuracy, clean.accuracy);
  for (let k = 1; k < acc.length; k++) assert.ok(acc[k] <= acc[k - 1], `accuracy rose from ${acc[k - 1]} at ε ${eps[k - 1]} to ${acc[k]} at ε ${eps[k]}`);
  assert.ok(acc[3] < 0.1, `PGD at ε = 0.3 leaves ${acc[3]} accuracy`);
  const fgsm = await robustnessCurve(model, sample, { norm: 'linf', eps: [0.1], fgsm: true, batchSize: 32 });
  console.log(`  FGSM ε 0.1: ${(100 * fgsm.points[0].accuracy).toFixed(1)}%`);
  assert.ok(acc[1] <= fgsm.points[0].accuracy, `PGD ${acc[1]} vs FGSM ${fgsm.points[0].accuracy} at ε = 0.1`);
  assert.ok(fgsm.points[0].accuracy < clean.accuracy, 'FGSM does something');
});

test('adversarial batches lie in the ε-ball and in [0, 1]; restarts keep a successful example', async () => {
  const { images, labels } = await readRange(sample, 0, sample.size);
  const shape = [sample.size, 32, 32, 3];
  const cleanHost = Float64Array.from(images, (v) => v / 255);
  const D = 32 * 32 * 3;
  for (const [norm, eps] of [['linf', 0.15], ['l2', 2]] as const) {
    const r = scope(() => {
      const x = imagesToFloat(uploadImagesU8(images, shape), shape);
      return attackBatch(model, x, tensor(labels), resolveAttack({ norm, eps, steps: 2, restarts: 2 }), new Generator(5));
    });
    const adv = await r.adversarial.toArray();
    const correct = await r.correct.toArray();
    const cleanCorrect = await r.cleanCorrect.toArray();
    const predicted = await r.predicted.toArray();
    Object.values(r).forEach((t) => t.dispose());
    assert.ok(adv.every((v) => v >= 0 && v <= 1), `${norm}: outside [0, 1]`);
    let fooled = 0;
    for (let n = 0; n < sample.size; n++) {
      let size = 0;
      for (let i = n * D; i < (n + 1) * D; i++) {
        const d = Math.abs(adv[i] - cleanHost[i]);
        size = norm === 'linf' ? Math.max(size, d) : size + d * d;
      }
      if (norm === 'l2') size = Math.sqrt(size);
      assert.ok(size <= eps + 1e-6, `${norm} sample ${n}: ‖δ‖ = ${size} > ε = ${eps}`);
      assert.ok(correct[n] <= cleanCorrect[n], 'robust but wrong when clean');
      assert.is(correct[n] === 1, predicted[n] === labels[n], `${norm} sample ${n}: the kept example's prediction disagrees with its verdict`);
      if (cleanCorrect[n] === 1 && correct[n] === 0) fooled++;
    }
    console.log(`  ${norm} ε ${eps}, PGD-2 × 2 restarts: ${fooled} of ${sample.size} digits flipped`);
    assert.ok(fooled > 0, `${norm}: no digit flipped`);
  }
});

test('attack CLI on the trained checkpoint writes CSV, JSON with AUC, chart and examples', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attack-cli-'));
  try {
    writeFileSync(join(dir, 'model.safetensors'), modelBytes);
    const common = ['--checkpoint', join(dir, 'model.safetensors'), '--limit', '12', '--steps', '2', '--batch-size', '12', '--examples', '3'];
    const linf = await cli([...common, '--eps', '0,0.1,8/255']);
    assert.is(linf.code, 0, linf.out);
    const csv = readFileSync(join(dir, 'attack-linf.csv'), 'utf8').trim().split('\n');
    assert.is(csv[0], 'eps,accuracy,n');
    assert.is(csv.length, 4);
    assert.equal(csv.slice(1).map((l) => Number(l.split(',')[0])), [0, 8 / 255, 0.1]);
    const json = JSON.parse(readFileSync(join(dir, 'attack-linf.json'), 'utf8'));
    assert.is(json.points.length, 3);
    assert.is(json.samples, 12);
    assert.is(json.attack.stepSize, '0.25·ε');
    assert.is(json.points[0].accuracy, json.cleanAccuracy);
    const { auc, normalized } = accuracyArea(json.points);
    assert.ok(Math.abs(json.auc - auc) < 1e-12 && Math.abs(json.aucNormalized - normalized) < 1e-12 && Math.abs(json.aucNormalized * 0.1 - json.auc) < 1e-12);
    assert.match(readFileSync(join(dir, 'attack-linf.svg'), 'utf8'), /^<svg[^]*<polyline[^]*<\/svg>\n$/);
    const examples = readFileSync(join(dir, 'attack-linf-examples.svg'), 'utf8');
    assert.is(examples.match(/data:image\/png;base64,/g)?.length, 9);
    const fgsm = await cli([...common.slice(0, -2), '--norm', 'l2', '--fgsm', '--eps', '0.5', '--examples', '0']);
    assert.is(fgsm.code, 0, fgsm.out);
    const fj = JSON.parse(readFileSync(join(dir, 'attack-fgsm-l2.json'), 'utf8'));
    assert.is(fj.attack.method, 'fgsm');
    assert.is(fj.points[0].eps, 0.5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.after(() => model?.dispose());

test.run();
