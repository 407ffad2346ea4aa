import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward } from '../engine/autograd.js';
import { crossEntropy, crossEntropyPerSample, logSoftmax, predictions } from '../engine/ops/loss.js';
import { tensor } from '../engine/tensor.js';
import { assertClose, gradCheck, randn, setupGpu } from './helpers.js';
import { crossEntropyRef, logSoftmaxRef } from './reference/loss.js';

test.before(setupGpu);

// log-sum-exp over C terms: C exp/add roundings (exp ≤ 3+2|x| ULP for |x| ≲ 10), one log.
const lseBound = (C: number, scale: number) => (C + 30) * 2 ** -23 * scale + 1e-6;

for (const [B, C] of [[1, 1], [3, 10], [17, 7], [64, 200]]) {
  test(`cross-entropy and log-softmax [${B},${C}]`, async () => {
    const x = randn(B * C, B + C, 3);
    const labels = Int32Array.from({ length: B }, (_, i) => (i * 7) % C);
    const logits = tensor(x, [B, C]);
    logits.requiresGrad = true;
    const ref = crossEntropyRef(x, labels, B, C);
    const scale = Math.max(...Array.from(x, Math.abs)) + 1;
    assertClose(await crossEntropyPerSample(logits, tensor(labels)).toArray(), ref.loss, lseBound(C, scale), 'per-sample loss');
    const loss = crossEntropy(logits, tensor(labels));
    const meanRef = ref.loss.reduce((a, b) => a + b, 0) / B;
    assertClose(await loss.toArray(), [meanRef], lseBound(C, scale) * 2, 'mean loss');
    backward(loss);
    assertClose(await logits.grad!.toArray(), ref.grad.map((g) => g / B), lseBound(C, 1) / B, 'dlogits');
    assertClose(await logSoftmax(tensor(x, [B, C])).toArray(), logSoftmaxRef(x, B, C), lseBound(C, scale), 'log-softmax');
  });
}

test('cross-entropy and log-softmax gradients match finite differences', async () => {
  const labels = tensor(Int32Array.from([2, 0, 1]));
  await gradCheck('cross_entropy', (x) => crossEntropy(x, labels), [{ data: randn(12, 8), shape: [3, 4] }]);
  await gradCheck('log_softmax', (x) => logSoftmax(x), [{ data: randn(12, 9), shape: [3, 4] }]);
});

test('out-of-range labels give NaN, bad shapes a named error', async () => {
  const loss = crossEntropyPerSample(tensor(new Float32Array(6), [2, 3]), tensor(Int32Array.from([1, 3])));
  const v = await loss.toArray();
  assert.ok(Number.isFinite(v[0]) && Number.isNaN(v[1]), `losses ${v}`);
  assert.throws(() => crossEntropy(tensor(new Float32Array(6), [2, 3]), tensor(Int32Array.from([1, 2, 0]))), /labels must be \[2\]/);
  assert.throws(() => crossEntropy(tensor(new Float32Array(6), [2, 3]), tensor(Float32Array.from([1, 2]))), /expected a i32 tensor/);
});

test('predictions: argmax (first maximum) and correctness', async () => {
  const logits = tensor(Float32Array.from([0, 2, 1, 5, 5, -1, -3, -2, -2.5]), [3, 3]);
  const { predicted, correct } = predictions(logits, tensor(Int32Array.from([1, 1, 1])));
  assert.equal(Array.from(await predicted.toArray()), [1, 0, 1]);
  assert.equal(Array.from(await correct.toArray()), [1, 0, 1]);
});

test.run();
