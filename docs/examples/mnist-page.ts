// The two-layer perceptron of mnist-node.ts, trained in a browser tab: the engine comes from the
// package's browser entry point and runs on navigator.gpu. The digits are the sample the page server
// provides (dist/web/mnist-sample.bin, written by `npm run build`; format in web/data.ts).
import { backward, crossEntropy, initGpu, Linear, Module, noGrad, predictions, relu, scope, SGD, sum, tensor, type Tensor } from 'selectivity-webgpu';

class Mlp extends Module {
  fc1 = this.addModule('fc1', new Linear(32 * 32, 128));
  fc2 = this.addModule('fc2', new Linear(128, 10));
  forward(x: Tensor): Tensor {
    return this.fc2.forward(relu(this.fc1.forward(x)));
  }
}

const result: { losses: number[]; accuracy?: number; error?: string } = { losses: [] };
(globalThis as { example?: typeof result }).example = result;
const log = (line: string) => (document.getElementById('log')!.textContent += `${line}\n`);
try {
  // Headless Chromium without a GPU needs the compatibility-mode adapter (…?adapter=compatibility).
  const gpu = await initGpu(location.search.includes('adapter=compatibility') ? { featureLevel: 'compatibility' } : {});
  log(`WebGPU adapter: ${gpu.info.description}`);
  // "MNISTS01", then u32 train, test, height, width; a label byte per image; then the images' pixels.
  const bytes = new Uint8Array(await (await fetch('../mnist-sample.bin')).arrayBuffer());
  const [nTrain, nTest, height, width] = [8, 12, 16, 20].map((at) => new DataView(bytes.buffer).getUint32(at, true));
  const px = height * width;
  const pixels = 24 + nTrain + nTest;
  const batch = (ids: number[]) => ({
    x: tensor(Float32Array.from({ length: ids.length * px }, (_, k) => bytes[pixels + ids[Math.floor(k / px)] * px + (k % px)] / 255), [ids.length, px]),
    y: tensor(Int32Array.from(ids, (i) => bytes[24 + i]), [ids.length], 'i32'),
  });
  const model = new Mlp();
  const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  for (let step = 0; step < 100; step++) {
    const ids = Array.from({ length: 64 }, () => Math.floor(Math.random() * nTrain));
    const loss = scope(() => {
      const { x, y } = batch(ids);
      const l = crossEntropy(model.forward(x), y);
      backward(l);
      optimizer.step();
      optimizer.zeroGrad();
      return l;
    });
    result.losses.push(await loss.item());
    loss.dispose();
    if (step % 20 === 0) log(`step ${step}: loss ${result.losses[step].toFixed(3)}`);
  }
  const right = noGrad(() => scope(() => {
    const { x, y } = batch(Array.from({ length: nTest }, (_, i) => nTrain + i));
    return sum(predictions(model.forward(x), y).correct);
  }));
  result.accuracy = (await right.item()) / nTest;
  log(`accuracy on ${nTest} held-out digits: ${(100 * result.accuracy).toFixed(1)}%`);
} catch (e) {
  result.error = (e as Error).message;
  log(`error: ${result.error}`);
}
