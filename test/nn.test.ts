import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward, noGrad, setGradFolds } from '../engine/autograd.js';
import { BatchNorm, Conv2d, Linear, Module, permute } from '../engine/nn.js';
import { add, relu } from '../engine/ops/elementwise.js';
import { conv2d } from '../engine/ops/conv.js';
import { mean } from '../engine/ops/reduce.js';
import { crossEntropy } from '../engine/ops/loss.js';
import { globalAvgPool } from '../engine/ops/pool.js';
import { manualSeed } from '../engine/ops/random.js';
import { SGD } from '../engine/optim.js';
import { runtime } from '../engine/runtime.js';
import { scope, tensor, type Tensor } from '../engine/tensor.js';
import { resnet18, resnet20 } from '../models/resnet.js';
import { U, assertClose, randn, sameBytes, setupGpu, uniform } from './helpers.js';
import { sgdRef } from './reference/optim.js';

test.before(setupGpu);

class SmallCnn extends Module {
  conv = this.addModule('conv', new Conv2d(3, 8, 3, { padding: 1 }));
  bn = this.addModule('bn', new BatchNorm(8));
  fc = this.addModule('fc', new Linear(8, 4));
  forward(x: Tensor): Tensor {
    return this.fc.forward(globalAvgPool(relu(this.bn.forward(this.conv.forward(x)))));
  }
}

test('SGD matches PyTorch semantics (momentum, dampening, weight decay, Nesterov)', async () => {
  for (const o of [
    { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false },
    { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: false },
    { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-4, nesterov: false },
    { lr: 0.01, momentum: 0.8, dampening: 0, weightDecay: 1e-3, nesterov: true },
  ]) {
    const n = 13;
    const p0 = randn(n, 1);
    const p = tensor(p0);
    p.requiresGrad = true;
    const opt = new SGD([p], o);
    const ref = Float64Array.from(p0);
    const state: { buf?: Float64Array } = {};
    for (let step = 0; step < 4; step++) {
      const g = randn(n, 10 + step);
      p.grad = tensor(g).keep();
      opt.step();
      opt.zeroGrad();
      sgdRef(ref, g, state, o);
    }
    assertClose(await p.toArray(), ref, (i) => 64 * U * (Math.abs(ref[i]) + 1), `SGD ${JSON.stringify(o)}`);
    opt.dispose();
  }
  assert.throws(() => new SGD([tensor([1])], { lr: -1 }), /lr must be a finite number ≥ 0/);
  assert.throws(() => new SGD([tensor([1])], { lr: 0.1, nesterov: true }), /Nesterov/);
});

test('state dicts use PyTorch names and layouts and round-trip', async () => {
  manualSeed(3);
  const model = new SmallCnn();
  const names = [...Object.keys(await model.exportState())];
  assert.equal(names, ['conv.weight', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'fc.weight', 'fc.bias', 'bn.num_batches_tracked']);
  const state = await model.exportState();
  assert.equal(state['conv.weight'].shape, [8, 3, 3, 3]); // OIHW
  const hwio = (await model.conv.weight.toArray()) as Float32Array;
  // PyTorch weight[o][i][h][w] is our weight[h][w][i][o]
  assert.is(state['conv.weight'].data[((5 * 3 + 2) * 3 + 1) * 3 + 0], hwio[((1 * 3 + 0) * 3 + 2) * 8 + 5]);
  const other = new SmallCnn();
  other.importState(state);
  const again = await other.exportState();
  for (const k of names) assert.equal(Array.from(again[k].data as Float32Array), Array.from(state[k].data as Float32Array), k);
  assert.throws(() => other.importState({ ...state, extra: state['bn.bias'] }), /unexpected entries 'extra'/);
  const { ['fc.bias']: _, ...missing } = state;
  assert.throws(() => other.importState(missing), /missing 'fc.bias'/);
  assert.throws(() => other.importState({ ...state, 'fc.weight': { ...state['fc.weight'], shape: [8, 4] } }), /'fc.weight' has shape \[8,4\], expected \[4,8\]/);
  assert.equal(permute(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3], [1, 0]).data, Float32Array.from([0, 3, 1, 4, 2, 5]));
});

test('ResNet parameter counts equal the PyTorch definitions', () => {
  // ResNet20 option A (He et al.): 269,722; option B adds two 1×1 projections with BN: 272,474.
  // ResNet18 with a 3×3 stem, no max-pool, 200 classes: torchvision's 11,689,512 − 7,680 (7×7 → 3×3 stem) − 410,400 (fc 1000 → 200).
  const a = resnet20();
  const b = resnet20({ shortcut: 'B' });
  const r18 = resnet18();
  assert.is(a.parameterCount(), 269722);
  assert.is(b.parameterCount(), 272474);
  assert.is(r18.parameterCount(), 11271432);
  assert.ok(r18.namedParameters().some(([n]) => n === 'layer2.0.downsample.0.weight'));
  assert.ok(a.namedParameters().some(([n]) => n === 'layer3.2.bn2.bias'));
  [a, b, r18].forEach((m) => m.dispose());
});

test('a small CNN overfits a fixed batch to near-zero loss', async () => {
  manualSeed(11);
  const model = new SmallCnn();
  const x = tensor(uniform(8 * 6 * 6 * 3, 21, 0, 1), [8, 6, 6, 3]);
  const y = tensor(Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3]));
  const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  let loss = 0;
  for (let step = 0; step < 150; step++) {
    const l = scope(() => {
      const out = crossEntropy(model.forward(x), y);
      backward(out);
      opt.step();
      opt.zeroGrad();
      return out;
    });
    if (step % 50 === 49 || step === 149) loss = await l.item();
    l.dispose();
  }
  assert.ok(loss < 0.05, `loss after 150 steps: ${loss}`);
  model.dispose();
  opt.dispose();
});

test('GPU memory stays flat over 1,000 training steps', async () => {
  manualSeed(12);
  const model = new SmallCnn();
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
  const x = tensor(uniform(4 * 4 * 4 * 3, 22, 0, 1), [4, 4, 4, 3]);
  const y = tensor(Int32Array.from([0, 1, 2, 3]));
  const pool = runtime().pool;
  const step = () => scope(() => {
    backward(crossEntropy(model.forward(x), y));
    opt.step();
    opt.zeroGrad();
  });
  for (let i = 0; i < 5; i++) step();
  await runtime().sync();
  const before = pool.snapshot();
  for (let i = 0; i < 1000; i++) {
    step();
    if (i % 100 === 99) await runtime().sync();
  }
  await runtime().sync();
  const after = pool.snapshot();
  assert.is(after.inUseBytes, before.inUseBytes, 'bytes in use grew');
  assert.is(after.allocatedBytes, before.allocatedBytes, 'the pool created new buffers');
  model.dispose();
  opt.dispose();
});

test('eval mode folds BN (and ReLU) into the convolutions: same logits and input gradients as the unfused layers', async () => {
  for (const shortcut of ['A', 'B'] as const) {
    manualSeed(21);
    const model = resnet20({ shortcut });
    const opt = new SGD(model.parameters(), { lr: 0.05 });
    const labels = tensor(Int32Array.from([0, 1, 2, 3]));
    // A few training steps give the running statistics non-trivial values.
    for (let i = 0; i < 3; i++) {
      scope(() => {
        backward(crossEntropy(model.forward(tensor(uniform(4 * 8 * 8 * 3, 50 + i, 0, 1), [4, 8, 8, 3])).logits, labels));
        opt.step();
        opt.zeroGrad();
      });
    }
    model.eval();
    const data = uniform(4 * 8 * 8 * 3, 60, 0, 1);
    const inputGrad = async (frozen: boolean) => {
      model.parameters().forEach((p) => (p.requiresGrad = !frozen));
      const x = tensor(data, [4, 8, 8, 3]);
      x.requiresGrad = true;
      const { logits } = model.forward(x);
      backward(crossEntropy(logits, labels));
      model.parameters().forEach((p) => {
        p.grad?.dispose();
        p.grad = null;
      });
      return { logits: Float64Array.from((await logits.toArray()) as Float32Array), grad: Float64Array.from((await x.grad!.toArray()) as Float32Array) };
    };
    const unfused = await inputGrad(false); // parameters want gradients: the layers run unfused
    const fused = await inputGrad(true);
    const scale = (v: Float64Array) => Math.max(...Array.from(v, Math.abs));
    // Folding reassociates (W·x)·s + t as (W·s)·x + t: f32 differences of a few K·u relative to each
    // layer's scale, compounded over 20 layers (see test/resnet.test.ts for the depth argument).
    assertClose(fused.logits, unfused.logits, 2e-4 * scale(unfused.logits), `logits (${shortcut})`);
    assertClose(fused.grad, unfused.grad, 5e-4 * scale(unfused.grad), `input gradient (${shortcut})`);
    model.dispose();
    opt.dispose();
  }
});

/** The gradients of `loss()` for `leaves` as bits (folds of ReLU masks on or off), and the dispatches its backward took. */
/** A tensor's values as bytes, for comparisons bit for bit (sameBytes). */
const bytesOf = async (t: Tensor) => new Uint8Array(((await t.toArray()) as Float32Array).buffer);

async function gradientBits(folds: boolean, leaves: readonly Tensor[], loss: () => Tensor): Promise<{ bits: Uint8Array[]; dispatches: number }> {
  setGradFolds(folds);
  try {
    const l = scope(loss);
    const before = runtime().counters.dispatches;
    backward(l);
    const dispatches = runtime().counters.dispatches - before;
    l.dispose();
    const bits = await Promise.all(leaves.map((t) => bytesOf(t.grad!)));
    leaves.forEach((t) => {
      t.grad!.dispose();
      t.grad = null;
    });
    return { bits, dispatches };
  } finally {
    setGradFolds(true);
  }
}

/** Asserts two gradientBits results hold the same bits. */
function assertSameBits(folded: Uint8Array[], separate: Uint8Array[], label: string): void {
  assert.is(folded.length, separate.length, `${label}: gradients`);
  folded.forEach((b, i) => sameBytes(b, separate[i], `${label}: gradient ${i}`));
}

test('ResNet20 with ReLU masks folded into the data gradients\' write-out: the same gradients bit for bit', async () => {
  manualSeed(31);
  const model = resnet20();
  const labels = tensor(Int32Array.from([0, 1, 2, 3]));
  const x = tensor(uniform(4 * 8 * 8 * 3, 70, 0, 1), [4, 8, 8, 3]);
  x.requiresGrad = true;
  const loss = () => crossEntropy(model.forward(x).logits, labels);
  // Training mode (batch norm with a residual ends each block), then eval mode's input gradient
  // (batch norm folded into ReLU-ended convolutions), as an attack takes it.
  for (const mode of ['train', 'eval'] as const) {
    if (mode === 'eval') {
      model.eval();
      model.parameters().forEach((p) => (p.requiresGrad = false));
    }
    const leaves = mode === 'eval' ? [x] : [x, ...model.parameters()];
    const separate = await gradientBits(false, leaves, loss);
    const folded = await gradientBits(true, leaves, loss);
    assertSameBits(folded.bits, separate.bits, mode);
    // At this size most GEMMs split K, and a split one applies the fold in a pass after the sum.
    assert.ok(folded.dispatches <= separate.dispatches, `${mode}: ${folded.dispatches} dispatches with folds, ${separate.dispatches} without`);
  }
  [x, labels].forEach((t) => t.dispose());
  model.dispose();
});

test('a ReLU mask folds into the write-out of its node\'s last gradient, and only there', async () => {
  // 8 channels keep K = 72 below the size at which GEMMs split K, so every data gradient here
  // either folds in its write-out or declines.
  const x = tensor(randn(2 * 6 * 6 * 8, 81), [2, 6, 6, 8]);
  const [w1, w2, w3] = [82, 83, 84].map((seed) => tensor(randn(3 * 3 * 8 * 8, seed, 0.5), [3, 3, 8, 8]));
  const leaves = [x, w1, w2, w3];
  leaves.forEach((t) => (t.requiresGrad = true));
  const hidden = () => conv2d(x, w1, null, { padding: 1, relu: true });
  const graphs: [string, () => Tensor, number][] = [
    // One consumer, a stride-1 convolution: its data gradient is masked as it is written.
    ['one consumer', () => mean(conv2d(hidden(), w2, null, { padding: 1 })), 1],
    // A residual block: the skip's gradient arrives first and is added in the write-out as well.
    ['block', () => {
      const y = hidden();
      return mean(conv2d(conv2d(y, w2, null, { padding: 1, relu: true }), w3, null, { padding: 1, residual: y, relu: true }));
    }, 2],
    // add(y, y): both edges come from one node, so neither gradient is known to be the last.
    ['add(y, y)', () => {
      const y = hidden();
      return mean(conv2d(add(y, y), w2, null, { padding: 1 }));
    }, 0],
    // A strided convolution's data gradient runs as sub-pixel phases, which partition dx: each
    // phase's write-out folds its part.
    ['strided consumer', () => mean(conv2d(hidden(), w2, null, { stride: 2, padding: 1 })), 1],
    // Strided and dilated, the data gradient is a general gather, which declines the fold.
    ['strided, dilated consumer', () => mean(conv2d(hidden(), w2, null, { stride: 2, padding: 2, dilation: 2 })), 0],
  ];
  for (const [label, loss, saved] of graphs) {
    const used = label === 'block' ? leaves : leaves.slice(0, 3);
    const separate = await gradientBits(false, used, loss);
    const folded = await gradientBits(true, used, loss);
    assertSameBits(folded.bits, separate.bits, label);
    assert.is(separate.dispatches - folded.dispatches, saved, `${label}: dispatches saved by folds`);
  }
  leaves.forEach((t) => t.dispose());
});

test('eval mode folds each batch norm once, and again after any of its six tensors is written', async () => {
  manualSeed(41);
  const model = resnet20();
  const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const labels = tensor(Int32Array.from([0, 1, 2, 3]));
  const x = tensor(uniform(4 * 8 * 8 * 3, 90, 0, 1), [4, 8, 8, 3]);
  const evalLogits = async () => {
    model.eval();
    const before = runtime().counters.dispatches;
    const logits = noGrad(() => model.forward(x).logits);
    const dispatches = runtime().counters.dispatches - before;
    const bits = await bytesOf(logits);
    logits.dispose();
    return { bits, dispatches };
  };
  // A model with the same state and nothing kept: the reference for every comparison.
  const fresh = async () => {
    const copy = resnet20();
    copy.importState(await model.exportState());
    copy.eval();
    const logits = noGrad(() => copy.forward(x).logits);
    const bits = await bytesOf(logits);
    logits.dispose();
    copy.dispose();
    return bits;
  };
  const first = await evalLogits();
  const second = await evalLogits();
  sameBytes(second.bits, first.bits, 'logits of the second pass against the first');
  // ResNet20 has 19 convolutions with batch norm: the second pass folds none of them.
  assert.is(first.dispatches - second.dispatches, 19, 'folds saved by the second pass');
  // A training step writes the parameters and the running statistics.
  model.train();
  scope(() => backward(crossEntropy(model.forward(x).logits, labels)));
  opt.step();
  opt.zeroGrad();
  const trained = await evalLogits();
  assert.is(trained.dispatches, first.dispatches, 'every batch norm folded again after a training step');
  sameBytes(trained.bits, await fresh(), 'logits after a training step against a fresh model\'s');
  // importState uploads new values into the same tensors.
  const other = resnet20();
  model.importState(await other.exportState());
  other.dispose();
  const imported = await evalLogits();
  assert.is(imported.dispatches, first.dispatches, 'every batch norm folded again after importState');
  sameBytes(imported.bits, await fresh(), 'logits after importState against a fresh model\'s');
  [x, labels].forEach((t) => t.dispose());
  opt.dispose();
  model.dispose();
});

test('eval mode: noGrad records no graph and BN uses running statistics', async () => {
  manualSeed(13);
  const model = new SmallCnn();
  model.eval();
  const x = tensor(uniform(2 * 4 * 4 * 3, 23), [2, 4, 4, 3]);
  const out = noGrad(() => model.forward(x));
  assert.is(out.node, null);
  const before = await model.bn.runningMean.toArray();
  model.forward(x).dispose();
  assert.equal(Array.from(await model.bn.runningMean.toArray()), Array.from(before));
  model.dispose();
});

test.run();
