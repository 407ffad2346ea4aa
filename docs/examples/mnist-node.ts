// A two-layer perceptron trained in Node on the MNIST digits that ship with the package: one epoch
// of SGD, then the accuracy on the held-out digits. Prints the loss of the first and last steps.
import { backward, crossEntropy, initGpu, Linear, Module, noGrad, predictions, relu, scope, SGD, sum, tensor, type Tensor } from 'selectivity-webgpu';
import { batches, loadMnist, type Batch } from 'selectivity-webgpu/experiments';

class Mlp extends Module {
  fc1 = this.addModule('fc1', new Linear(32 * 32, 128));
  fc2 = this.addModule('fc2', new Linear(128, 10));
  forward(x: Tensor): Tensor {
    return this.fc2.forward(relu(this.fc1.forward(x)));
  }
}

/** The digits (32×32; the three channels are equal, so one is used) in [0, 1], and their labels. */
const inputs = (b: Batch) => ({
  x: tensor(Float32Array.from({ length: b.count * 1024 }, (_, i) => b.images[i * 3] / 255), [b.count, 1024]),
  y: tensor(b.labels.subarray(0, b.count), [b.count], 'i32'),
});

await initGpu();
const { train, test } = loadMnist();
const model = new Mlp();
const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
const losses: number[] = [];
for await (const b of batches(train, 64, { shuffle: true, seed: 1 })) {
  const loss = scope(() => {
    const { x, y } = inputs(b);
    const l = crossEntropy(model.forward(x), y);
    backward(l);
    optimizer.step();
    optimizer.zeroGrad();
    return l;
  });
  losses.push(await loss.item());
  loss.dispose();
}
let correct = 0;
for await (const b of batches(test, 500)) {
  const right = noGrad(() => scope(() => {
    const { x, y } = inputs(b);
    return sum(predictions(model.forward(x), y).correct);
  }));
  correct += await right.item();
  right.dispose();
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`steps ${losses.length}; loss ${mean(losses.slice(0, 10)).toFixed(3)} → ${mean(losses.slice(-10)).toFixed(3)} (first and last 10 steps); test accuracy ${((100 * correct) / test.size).toFixed(1)}%`);
