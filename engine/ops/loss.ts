// Softmax cross-entropy and log-softmax over the last axis of [B, C] logits.
import { argmaxCorrect, crossEntropyBackward, crossEntropyForward, logSoftmaxBackward, logSoftmaxForward, rowWorkgroups } from '../../shaders/loss.js';
import { record } from '../autograd.js';
import { assertDType, empty, type Tensor } from '../tensor.js';
import { mean } from './reduce.js';
import { run, shapes } from './run.js';

function checkLogits(op: string, x: Tensor): [number, number] {
  assertDType(op, x, 'f32');
  if (x.rank !== 2) throw new Error(`${op}: logits must be [batch, classes], got ${x.describe()}`);
  return [x.shape[0], x.shape[1]];
}

/**
 * Per-sample cross-entropy [B] of logits [B, C] against integer labels [B] (i32). Labels outside
 * [0, C) give NaN losses (checked on the GPU, so a bad batch is visible in the loss).
 */
export function crossEntropyPerSample(logits: Tensor, labels: Tensor): Tensor {
  const op = 'cross_entropy';
  const [B, C] = checkLogits(op, logits);
  assertDType(op, labels, 'i32');
  if (labels.rank !== 1 || labels.shape[0] !== B) throw new Error(`${op}: labels must be [${B}] for logits ${logits.describe()}, got ${labels.describe()}`);
  const loss = empty([B]);
  const lse = empty([B]);
  const label = `${op} ${shapes(logits)}`;
  run(crossEntropyForward, { x: logits, labels, loss, lseBuf: lse }, { B, C, nanBits: 0x7fc00000 }, rowWorkgroups(B), label);
  const out = record(op, [logits], loss, [logits, labels, lse], (g, [x, y, l]) => {
    const dx = empty(x.shape);
    run(crossEntropyBackward, { x, labels: y, lseBuf: l, g, dx }, { B, C }, rowWorkgroups(B), `${label} backward`);
    return [dx];
  });
  lse.dispose();
  return out;
}

/** Mean cross-entropy over the batch. */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const perSample = crossEntropyPerSample(logits, labels);
  const loss = mean(perSample);
  perSample.dispose();
  return loss;
}

export function logSoftmax(x: Tensor): Tensor {
  const op = 'log_softmax';
  const [B, C] = checkLogits(op, x);
  const y = empty(x.shape);
  run(logSoftmaxForward, { x, y }, { B, C }, rowWorkgroups(B), `${op} ${shapes(x)}`);
  return record(op, [x], y, [y], (g, [sy]) => {
    const dx = empty(x.shape);
    run(logSoftmaxBackward, { y: sy, g, dx }, { B, C }, rowWorkgroups(B), `${op} ${shapes(x)} backward`);
    return [dx];
  });
}

/** Predicted class per row (i32 [B]) and whether it equals the label (f32 0/1 [B]). No autograd. */
export function predictions(logits: Tensor, labels: Tensor): { predicted: Tensor; correct: Tensor } {
  const op = 'predictions';
  const [B, C] = checkLogits(op, logits);
  assertDType(op, labels, 'i32');
  if (labels.rank !== 1 || labels.shape[0] !== B) throw new Error(`${op}: labels must be [${B}] for logits ${logits.describe()}, got ${labels.describe()}`);
  const predicted = empty([B], 'i32');
  const correct = empty([B]);
  run(argmaxCorrect, { x: logits, labels, pred: predicted, correct }, { B, C }, rowWorkgroups(B), `${op} ${shapes(logits)}`);
  return { predicted, correct };
}
