// Cross-entropy, log-softmax and predictions against float64 references.
import { backward } from '../../engine/autograd.js';
import { crossEntropy, crossEntropyPerSample, logSoftmax, predictions } from '../../engine/ops/loss.js';
import { tensor } from '../../engine/tensor.js';
import { crossEntropyRef, logSoftmaxRef } from '../reference/loss.js';
import type { KernelCase } from './check.js';
import { leaf, randn } from './util.js';

// log-sum-exp over C terms: C exp/add roundings (exp ≤ 3+2|x| ULP for |x| ≲ 10), one log.
const lseBound = (C: number, scale: number) => (C + 30) * 2 ** -23 * scale + 1e-6;

export const lossShapes = [[1, 1], [3, 10], [17, 7], [64, 200]];

export const lossCases: KernelCase[] = [
  ...lossShapes.map(([B, C]): KernelCase => ({
    suite: 'loss',
    name: `cross-entropy and log-softmax [${B},${C}]`,
    async run(check) {
      const x = randn(B * C, B + C, 3);
      const labels = Int32Array.from({ length: B }, (_, i) => (i * 7) % C);
      const logits = leaf(x, [B, C]);
      const ref = crossEntropyRef(x, labels, B, C);
      const scale = Math.max(...Array.from(x, Math.abs)) + 1;
      check.close(await crossEntropyPerSample(logits, tensor(labels)).toArray(), ref.loss, lseBound(C, scale), 'per-sample loss');
      const loss = crossEntropy(logits, tensor(labels));
      const meanRef = ref.loss.reduce((a, b) => a + b, 0) / B;
      check.close(await loss.toArray(), [meanRef], lseBound(C, scale) * 2, 'mean loss');
      backward(loss);
      check.close(await logits.grad!.toArray(), ref.grad.map((g) => g / B), lseBound(C, 1) / B, 'dlogits');
      check.close(await logSoftmax(tensor(x, [B, C])).toArray(), logSoftmaxRef(x, B, C), lseBound(C, scale), 'log-softmax');
    },
  })),
  {
    suite: 'loss',
    name: 'predictions: argmax (first maximum) and correctness',
    async run(check) {
      const logits = tensor(Float32Array.from([0, 2, 1, 5, 5, -1, -3, -2, -2.5]), [3, 3]);
      const { predicted, correct } = predictions(logits, tensor(Int32Array.from([1, 1, 1])));
      check.equal(await predicted.toArray(), [1, 0, 1], 'predicted');
      check.equal(await correct.toArray(), [1, 0, 1], 'correct');
    },
  },
];
