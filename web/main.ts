// The page: the engine in a browser tab. Pick a dataset (the bundled MNIST sample or a CIFAR-10 batch
// file), train ResNet20 with the selectivity regularizer and watch loss, accuracy and minibatch SI,
// load and evaluate a checkpoint written by the Node CLI, look at a test image under every corruption
// and severity, and attack it with PGD. `?tests` runs the kernel tests instead.
import { noGrad } from '../engine/autograd.js';
import { initGpu, type GpuContext } from '../engine/device.js';
import '../engine/ops/index.js';
import { gemmTile, parseTile, setGemmTile, tileName } from '../engine/ops/gemm.js';
import { Generator } from '../engine/ops/random.js';
import { scope, tensor } from '../engine/tensor.js';
import { decodeCheckpoint, restoreCheckpoint } from '../experiments/checkpoint.js';
import { createModel, type DatasetName, type ModelName } from '../experiments/models.js';
import { evaluate, type Evaluation } from '../experiments/train.js';
import type { ResNet } from '../models/resnet.js';
import { LineChart } from './chart.js';
import { MNIST_SAMPLE_FILE, cifar10FromBatch, decodeMnistSample, type PageDataset } from './data.js';
import { argmax, drawPixels, h, imageCanvas, softmax, u8ToFloat } from './images.js';
import { download, fileSource, urlSource, type ByteSource } from './io/files.js';
import { CORRUPTION_NAMES, corruptImage, pgdImage, type CorruptionName } from './robustness.js';
import { runKernelTests } from './tests.js';
import { PageTrainer, inferBatch, regimeSettings, type PageRegime } from './trainer.js';
import { parseNumberText } from '../experiments/cli/number.js';
import { describeAdversarial } from '../experiments/robust/spec.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const num = (id: string) => Number($<HTMLInputElement>(id).value);

interface LoadedCheckpoint {
  name: string;
  model: ResNet;
  dataset: DatasetName;
  evaluation?: Evaluation & { dataset: string };
}

/** What a test driver (or a curious user in the console) can read: `window.app`. */
interface AppApi {
  ready: boolean;
  busy: boolean;
  error: string | null;
  adapter: string;
  /** The GEMM tile in use (the device's default, or ?tile=). */
  tile: () => string;
  dataset: () => { name: string; train: number; test: number } | null;
  history: () => { step: number; loss: number; accuracy: number; selectivity: number }[];
  /** The regime of the model trained here, with its settings as config.json records them. */
  regime: () => ({ regime: PageRegime; warmupSteps: number } & ReturnType<typeof regimeSettings>) | null;
  checkpoint: () => { name: string; dataset: string; accuracy?: number; loss?: number; selectivity?: number } | null;
  /** Predicted classes and logits of test images [start, start + count) under the current model. */
  predict: (start: number, count: number) => Promise<{ predicted: number[]; logits: number[] }>;
  /** Test image `index` under one corruption, drawn with Generator(index, { stream: 7 }): f32 NHWC values. */
  corrupt: (index: number, name: string, severity: number) => Promise<number[]>;
}

let gpuContext: GpuContext | null = null;
let dataset: PageDataset | null = null;
let trainer: PageTrainer | null = null;
let loaded: LoadedCheckpoint | null = null;
/** The model the viewer and PGD use: the last one trained or loaded. */
let current: { model: ResNet; label: string } | null = null;
let stopRequested = false;
const charts: Record<'loss' | 'accuracy' | 'selectivity', LineChart | null> = { loss: null, accuracy: null, selectivity: null };

const app: AppApi = {
  ready: false,
  busy: false,
  error: null,
  adapter: '',
  tile: () => tileName(gemmTile()),
  dataset: () => (dataset ? { name: dataset.name, train: dataset.train.size, test: dataset.test.size } : null),
  history: () => (trainer?.history ?? []).map(({ step, loss, accuracy, selectivity }) => ({ step, loss, accuracy, selectivity })),
  regime: () => (trainer ? { regime: trainer.config.regime, warmupSteps: trainer.config.warmupSteps, ...trainer.settings } : null),
  checkpoint: () => (loaded ? { name: loaded.name, dataset: loaded.dataset, accuracy: loaded.evaluation?.accuracy, loss: loaded.evaluation?.loss, selectivity: loaded.evaluation?.selectivity?.overall } : null),
  predict: async (start, count) => {
    if (!current || !dataset) throw new Error('no model or dataset');
    const { test } = dataset;
    const images = new Uint8Array(count * test.height * test.width * 3);
    const labels = new Int32Array(count);
    await test.read(Int32Array.from({ length: count }, (_, i) => start + i), images, labels);
    const logits = await inferBatch(current.model, images, count, test.height, test.width);
    const C = logits.length / count;
    return { predicted: Array.from({ length: count }, (_, i) => argmax(logits.subarray(i * C, (i + 1) * C))), logits: Array.from(logits) };
  },
  corrupt: async (index, name, severity) => {
    if (!dataset) throw new Error('no dataset');
    const { test } = dataset;
    const pixels = new Uint8Array(test.height * test.width * 3);
    await test.read([index], pixels, new Int32Array(1));
    return Array.from(await corruptedPixels(u8ToFloat(pixels), name as CorruptionName, severity, new Generator(index, { stream: 7 })));
  },
};
(globalThis as { app?: AppApi }).app = app;

// ---- status and busy handling -------------------------------------------------------------------------
function setStatus(id: string, text: string, kind: '' | 'good' | 'bad' = ''): void {
  const el = $(id);
  el.textContent = text;
  el.className = `status ${kind}`;
}

function showError(where: string, e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  app.error = `${where}: ${message}`;
  console.error(app.error);
  setStatus(`${where}-status`, message, 'bad');
}

/** Runs GPU work one job at a time, with the controls that start jobs disabled meanwhile. */
async function exclusive(where: string, job: () => Promise<void>): Promise<void> {
  if (app.busy) return;
  app.busy = true;
  app.error = null;
  document.body.classList.add('busy');
  updateControls();
  try {
    await job();
  } catch (e) {
    showError(where, e);
  } finally {
    app.busy = false;
    document.body.classList.remove('busy');
    updateControls();
  }
}

function updateControls(): void {
  const noGpu = !gpuContext;
  const idle = !app.busy;
  const set = (id: string, enabled: boolean) => ($<HTMLButtonElement>(id).disabled = !enabled);
  set('train', !noGpu && idle && !!dataset);
  set('stop', app.busy && !!trainer && !stopRequested);
  set('download', idle && !!trainer && trainer.steps > 0);
  set('evaluate', !noGpu && idle && !!current && !!dataset);
  set('checkpoint-file', !noGpu && idle && !!dataset);
  set('cifar-file', idle);
  set('run-pgd', !noGpu && idle && !!current && !!dataset);
  set('show-image', !noGpu && idle && !!dataset);
  document.querySelectorAll<HTMLInputElement>('input[name=dataset]').forEach((r) => (r.disabled = !idle));
}

// ---- data ---------------------------------------------------------------------------------------------
async function loadDataset(kind: 'mnist' | 'cifar10', source: ByteSource): Promise<void> {
  setStatus('data-status', `loading ${source.name} …`);
  const bytes = await source.bytes();
  dataset = kind === 'mnist' ? decodeMnistSample(bytes, source.name) : cifar10FromBatch(bytes, source.name);
  setStatus('data-status', dataset.describe, 'good');
  const strip = $('samples');
  strip.replaceChildren();
  const count = Math.min(16, dataset.test.size);
  const { test } = dataset;
  const images = new Uint8Array(count * test.height * test.width * 3);
  const labels = new Int32Array(count);
  await test.read(Int32Array.from({ length: count }, (_, i) => i), images, labels);
  const bytesPer = test.height * test.width * 3;
  for (let i = 0; i < count; i++) {
    const canvas = imageCanvas(test.width, test.height, 2, `test image ${i}: ${dataset.classNames[labels[i]]}`);
    drawPixels(canvas, images.subarray(i * bytesPer, (i + 1) * bytesPer), false);
    canvas.addEventListener('click', () => {
      $<HTMLInputElement>('image-index').value = String(i);
      void exclusive('viewer', showImage);
    });
    strip.append(h('figure', {}, canvas, h('figcaption', {}, dataset.classNames[labels[i]])));
  }
  $<HTMLInputElement>('image-index').max = String(test.size - 1);
}

// ---- training -----------------------------------------------------------------------------------------
async function trainSteps(): Promise<void> {
  if (!dataset) throw new Error('choose a dataset first');
  const alpha = num('alpha');
  const steps = num('steps');
  const batchSize = num('batch');
  const lr = num('lr');
  const seed = num('seed');
  if (!Number.isFinite(alpha) || Math.abs(alpha) > 1e4) throw new Error(`α must be a number with |α| ≤ 10000, got ${$<HTMLInputElement>('alpha').value}`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${$<HTMLInputElement>('steps').value}`);
  if (!Number.isInteger(batchSize) || batchSize < 2) throw new Error(`batch size must be an integer ≥ 2, got ${$<HTMLInputElement>('batch').value}`);
  if (!(lr > 0)) throw new Error(`learning rate must be > 0, got ${$<HTMLInputElement>('lr').value}`);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${$<HTMLInputElement>('seed').value}`);
  const regime = $<HTMLSelectElement>('regime').value as PageRegime;
  const epsText = $<HTMLInputElement>('regime-eps').value.trim();
  const eps = epsText === '' ? (dataset.name === 'mnist' ? 0.3 : 8 / 255) : parseNumberText(epsText, 'ε');
  // Checked before the old model is dropped: a bad ε or regime leaves the page as it was.
  const settings = regimeSettings(regime, eps);
  if (trainer && current?.model === trainer.model) current = null;
  trainer?.dispose();
  trainer = null;
  Object.values(charts).forEach((c) => c?.clear());
  // ε ramps up over the first quarter of the steps (the page's --adversarial-warmup).
  const warmupSteps = settings.adversarial ? Math.ceil(steps / 4) : 0;
  trainer = new PageTrainer(dataset, { alpha, regime, eps, batchSize, lr, momentum: 0.9, weightDecay: 5e-4, seed, warmupSteps });
  const regimeLabel = settings.adversarial ? `, ${describeAdversarial(settings.adversarial)}` : settings.augmentCorruptions ? ', corruption-augmented' : '';
  current = { model: trainer.model, label: `ResNet20 trained here (α = ${alpha}${regimeLabel})` };
  stopRequested = false;
  updateControls();
  const started = performance.now();
  for (let k = 0; k < steps && !stopRequested; k++) {
    // Cosine decay over the requested steps.
    const m = await trainer.step(0.5 * lr * (1 + Math.cos((Math.PI * k) / steps)));
    charts.loss!.add(m.step, m.loss);
    charts.accuracy!.add(m.step, m.accuracy);
    charts.selectivity!.add(m.step, m.selectivity);
    setStatus('train-status', `step ${m.step}/${steps} · loss ${m.loss.toFixed(3)} · batch accuracy ${(100 * m.accuracy).toFixed(0)}% · SI ${m.selectivity.toFixed(3)} · ${(m.milliseconds / 1000).toFixed(2)} s/step`);
  }
  const seconds = (performance.now() - started) / 1000;
  setStatus('train-status', `${stopRequested ? 'stopped after' : 'trained'} ${trainer.steps} steps in ${seconds.toFixed(1)} s (α = ${alpha}${regimeLabel}); the viewer and PGD now use this model`, 'good');
  $('model-label').textContent = current.label;
}

async function evaluateCurrent(): Promise<void> {
  if (!current || !dataset) throw new Error('train or load a model first');
  const result = await evaluate(current.model, dataset.test, 200, (done, total) => setStatus('evaluate-status', `evaluating … ${done}/${total}`), dataset.numClasses);
  setStatus('evaluate-status', `${current.label}: held-out accuracy ${(100 * result.accuracy).toFixed(2)}% · loss ${result.loss.toFixed(4)} · SI ${result.selectivity!.overall.toFixed(3)} (${dataset.test.size} images)`, 'good');
}

// ---- checkpoints --------------------------------------------------------------------------------------
async function loadCheckpoint(source: ByteSource): Promise<void> {
  if (!dataset) throw new Error('choose a dataset first');
  setStatus('checkpoint-status', `reading ${source.name} …`);
  const checkpoint = decodeCheckpoint(await source.bytes(), source.name);
  const config = checkpoint.config ?? {};
  const model = (config.model ?? 'resnet20') as ModelName;
  const data = (config.data ?? dataset.name) as DatasetName;
  const numClasses = (config.numClasses as number | undefined) ?? (data === 'tinyimagenet' ? 200 : 10);
  if (model !== 'resnet20') throw new Error(`${source.name} holds a ${model}; the page runs ResNet20 on 32×32 images`);
  if (numClasses !== dataset.numClasses) throw new Error(`${source.name} has ${numClasses} classes, the ${dataset.name} data has ${dataset.numClasses}`);
  const net = createModel({ model, dataset: data, numClasses, shortcut: (config.shortcut as 'A' | 'B' | undefined) ?? 'A' });
  try {
    restoreCheckpoint(checkpoint, net, null, source.name);
  } catch (e) {
    net.dispose();
    throw e;
  }
  if (loaded && current?.model === loaded.model) current = null;
  loaded?.model.dispose();
  loaded = { name: source.name, model: net, dataset: data };
  current = { model: net, label: `${source.name}` };
  $('model-label').textContent = current.label;
  const alpha = config.alpha === undefined ? '' : ` · α = ${config.alpha}`;
  const mismatch = data !== dataset.name ? ` Warning: it was trained on ${data}, the page holds ${dataset.name}.` : '';
  setStatus('checkpoint-status', `${source.name}: ResNet20 trained on ${data}${alpha}, ${Object.keys(checkpoint.tensors).length} tensors; evaluating on ${dataset.test.size} held-out images …${mismatch}`);
  const evaluation = await evaluate(net, dataset.test, 200, (done, total) => setStatus('checkpoint-status', `evaluating ${source.name} … ${done}/${total}`), dataset.numClasses);
  loaded.evaluation = { ...evaluation, dataset: dataset.name };
  setStatus('checkpoint-status', `${source.name} (trained on ${data}${alpha}): held-out accuracy ${(100 * evaluation.accuracy).toFixed(2)}% · loss ${evaluation.loss.toFixed(4)} · SI ${evaluation.selectivity!.overall.toFixed(3)} on ${dataset.test.size} ${dataset.name} images.${mismatch}`, 'good');
}

// ---- one test image: corruptions and PGD --------------------------------------------------------------
async function readTestImage(): Promise<{ pixels: Uint8Array; label: number; index: number }> {
  if (!dataset) throw new Error('choose a dataset first');
  const index = Math.min(Math.max(0, Math.floor(num('image-index')) || 0), dataset.test.size - 1);
  $<HTMLInputElement>('image-index').value = String(index);
  const pixels = new Uint8Array(dataset.test.height * dataset.test.width * 3);
  const label = new Int32Array(1);
  await dataset.test.read([index], pixels, label);
  return { pixels, label: label[0], index };
}

/** One test image (f32 HWC in [0, 1]) under a corruption, with the dataset's parameter table. */
async function corruptedPixels(clean: Float32Array, name: CorruptionName, severity: number, generator: Generator): Promise<Float32Array> {
  const { height, width } = dataset!.test;
  const input = tensor(clean, [1, height, width, 3]);
  const out = await corruptImage(input, name, severity, generator, height === 64 ? 'tinyimagenet' : 'cifar10');
  const values = (await out.toArray()) as Float32Array;
  input.dispose();
  out.dispose();
  return values;
}

async function predictFloat(images: Float32Array, count: number): Promise<number[][]> {
  if (!current || !dataset) return [];
  const model = current.model;
  const wasTraining = model.training;
  model.eval();
  const logits = noGrad(() => scope(() => model.forward(tensor(images, [count, dataset!.test.height, dataset!.test.width, 3])).logits.keep()));
  const values = (await logits.toArray()) as Float32Array;
  logits.dispose();
  model.train(wasTraining);
  const C = values.length / count;
  return Array.from({ length: count }, (_, i) => softmax(values.subarray(i * C, (i + 1) * C)));
}

function predictionText(probs: number[] | undefined): string {
  if (!probs || !dataset) return '';
  const k = argmax(probs);
  return `${dataset.classNames[k]} ${(100 * probs[k]).toFixed(0)}%`;
}

async function showImage(): Promise<void> {
  if (!dataset) return;
  const { pixels, label, index } = await readTestImage();
  const { height, width } = dataset.test;
  const clean = u8ToFloat(pixels);
  const original = imageCanvas(width, height, 4);
  drawPixels(original, pixels, false);
  const [probs] = await predictFloat(clean, 1);
  $('original').replaceChildren(h('figure', {}, original, h('figcaption', {}, `#${index}: ${dataset.classNames[label]}`, h('br'), current ? `model: ${predictionText(probs)}` : 'no model yet')));
  const grid = $('corruption-grid');
  grid.replaceChildren();
  const table = h('table', { class: 'corruptions' });
  table.append(h('thead', {}, h('tr', {}, h('th', {}, 'corruption'), ...[1, 2, 3, 4, 5].map((s) => h('th', {}, `severity ${s}`)))));
  const tbody = h('tbody');
  table.append(tbody);
  grid.append(table);
  const generator = new Generator(index, { stream: 7 });
  const all: Float32Array[] = [];
  const cells: HTMLElement[] = [];
  for (const name of CORRUPTION_NAMES) {
    const row = h('tr', {}, h('th', {}, name.replace(/_/g, ' ')));
    tbody.append(row);
    for (let severity = 1; severity <= 5; severity++) {
      const cell = h('td');
      row.append(cell);
      try {
        const values = await corruptedPixels(clean, name, severity, generator);
        const canvas = imageCanvas(width, height, 2, `${name}, severity ${severity}`);
        drawPixels(canvas, values, true);
        cell.append(canvas);
        all.push(values);
        cells.push(cell);
      } catch (e) {
        cell.append(h('span', { class: 'bad small' }, (e as Error).message));
      }
    }
  }
  if (current && all.length) {
    const batch = new Float32Array(all.length * height * width * 3);
    all.forEach((v, i) => batch.set(v, i * height * width * 3));
    const probs = await predictFloat(batch, all.length);
    probs.forEach((p, i) => cells[i].append(h('div', { class: argmax(p) === label ? 'small good' : 'small bad' }, predictionText(p))));
  }
}

async function runPgd(): Promise<void> {
  if (!current || !dataset) throw new Error('train or load a model first');
  await showImage();
  const { pixels, label, index } = await readTestImage();
  const { height, width } = dataset.test;
  const norm = $<HTMLSelectElement>('norm').value as 'linf' | 'l2';
  const epsInput = num('eps');
  const steps = num('pgd-steps');
  const eps = norm === 'linf' ? epsInput / 255 : epsInput;
  setStatus('pgd-status', `PGD on test image #${index}: ${steps} steps, ε = ${norm === 'linf' ? `${epsInput}/255` : epsInput} (${norm === 'linf' ? 'L∞' : 'L2'}) …`);
  const clean = u8ToFloat(pixels);
  const result = await pgdImage(current.model, clean, [1, height, width, 3], label, { norm, eps, steps }, new Generator(index, { stream: 9 }));
  const [cleanProbs, advProbs] = await predictFloat(Float32Array.from([...clean, ...result.adversarial]), 2);
  const delta = result.adversarial.map((v, i) => v - clean[i]);
  const scale = Math.max(1e-12, ...Array.from(delta, Math.abs));
  const shown = delta.map((d) => 0.5 + d / (2 * scale));
  const figure = (title: string, values: Float32Array, caption: string) => {
    const c = imageCanvas(width, height, 4, title);
    drawPixels(c, values, true);
    return h('figure', {}, c, h('figcaption', {}, h('strong', {}, title), h('br'), caption));
  };
  $('pgd-images').replaceChildren(
    figure('clean', clean, `label ${dataset.classNames[label]} · predicted ${predictionText(cleanProbs)}`),
    figure('perturbation', shown, scale > 1e-9 ? `max |δ| ${(scale * 255).toFixed(1)}/255 (shown ×${(0.5 / scale).toFixed(0)})` : 'none'),
    figure('adversarial', result.adversarial, `predicted ${predictionText(advProbs)}`),
  );
  if (result.cleanPredicted !== label) {
    setStatus('pgd-status', `already misclassified when clean (as ${dataset.classNames[result.cleanPredicted]}): nothing to attack`, 'bad');
    return;
  }
  const flipped = result.adversarialPredicted !== label;
  setStatus('pgd-status', flipped ? `the attack changed the prediction to ${dataset.classNames[result.adversarialPredicted]}` : `the model withstood this attack (still ${dataset.classNames[result.adversarialPredicted]})`, flipped ? 'bad' : 'good');
}

// ---- start --------------------------------------------------------------------------------------------
function noWebGpu(message: string): void {
  const banner = $('no-webgpu');
  banner.hidden = false;
  banner.querySelector('.detail')!.textContent = message;
  setStatus('adapter', 'no WebGPU', 'bad');
  app.error = message;
  app.ready = true;
  updateControls();
}

async function start(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const tests = params.has('tests');
  document.body.classList.toggle('test-mode', tests);
  if (!('gpu' in navigator) || !navigator.gpu) {
    noWebGpu('This browser does not expose WebGPU (navigator.gpu is undefined). Use a recent Chrome or Edge (113+), Safari 26+, or Firefox 141+ on Windows; on Linux start Chromium with --enable-unsafe-webgpu. Pages must be served over https or from localhost.');
    if (tests) (globalThis as { kernelTests?: unknown }).kernelTests = { done: true, adapter: 'none', results: [], passed: 0, failed: 1, skipped: 0, milliseconds: 0, error: 'no WebGPU' };
    return;
  }
  // ?adapter=compatibility asks for a compatibility-mode adapter (see GpuOptions.featureLevel).
  try {
    gpuContext = await initGpu(params.get('adapter') === 'compatibility' ? { featureLevel: 'compatibility' } : {});
  } catch (e) {
    noWebGpu((e as Error).message);
    if (tests) (globalThis as { kernelTests?: unknown }).kernelTests = { done: true, adapter: 'none', results: [], passed: 0, failed: 1, skipped: 0, milliseconds: 0, error: (e as Error).message };
    return;
  }
  const { info } = gpuContext;
  // ?tile=4x16 (or 8x8s for shared memory) picks the GEMM tile, as `bench --tile` does in Node.
  const tileParam = params.get('tile');
  if (tileParam) {
    try {
      setGemmTile(parseTile(tileParam));
    } catch (e) {
      noWebGpu(`?tile=${tileParam}: ${(e as Error).message}`);
      return;
    }
  }
  const compat = !gpuContext.device.features.has('core-features-and-limits') && params.get('adapter') === 'compatibility';
  app.adapter = `${info.description}${info.architecture ? ` (${info.architecture})` : ''}${compat ? ', compatibility mode' : ''}`;
  setStatus('adapter', `WebGPU: ${app.adapter}`, 'good');
  gpuContext.device.lost.then((lost) => {
    if (lost.reason !== 'destroyed') noWebGpu(`the GPU device was lost: ${lost.message}`);
  });
  if (tests) {
    await runKernelTests($('tests'), app.adapter, info.architecture, params.get('tests') || undefined);
    app.ready = true;
    return;
  }

  charts.loss = new LineChart($('charts'), { title: 'loss (cross-entropy)', color: '#d9480f' });
  charts.accuracy = new LineChart($('charts'), { title: 'batch accuracy', color: '#2b8a3e', yRange: [0, 1], format: (v) => `${(100 * v).toFixed(0)}%` });
  charts.selectivity = new LineChart($('charts'), { title: 'mean class selectivity (minibatch)', color: '#5f3dc4', yRange: [0, 1] });

  document.querySelectorAll<HTMLInputElement>('input[name=dataset]').forEach((radio) =>
    radio.addEventListener('change', () => {
      if (radio.value === 'mnist') void exclusive('data', () => loadDataset('mnist', urlSource(MNIST_SAMPLE_FILE)));
      else $('cifar-file').click();
    }),
  );
  $<HTMLInputElement>('cifar-file').addEventListener('change', (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    $<HTMLInputElement>('dataset-cifar').checked = true;
    void exclusive('data', () => loadDataset('cifar10', fileSource(file)));
  });
  $('train').addEventListener('click', () => void exclusive('train', trainSteps));
  $('stop').addEventListener('click', () => {
    stopRequested = true;
    updateControls();
  });
  $('download').addEventListener('click', () => {
    if (trainer) void trainer.checkpoint().then((bytes) => download(`resnet20-${dataset?.name}-alpha${trainer!.config.alpha}-${trainer!.steps}steps.safetensors`, bytes));
  });
  $('evaluate').addEventListener('click', () => void exclusive('evaluate', evaluateCurrent));
  $<HTMLInputElement>('checkpoint-file').addEventListener('change', (e) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    if (file) void exclusive('checkpoint', () => loadCheckpoint(fileSource(file))).then(() => (input.value = ''));
  });
  $('show-image').addEventListener('click', () => void exclusive('viewer', showImage));
  $('prev-image').addEventListener('click', () => {
    $<HTMLInputElement>('image-index').value = String(Math.max(0, num('image-index') - 1));
    void exclusive('viewer', showImage);
  });
  $('next-image').addEventListener('click', () => {
    $<HTMLInputElement>('image-index').value = String(num('image-index') + 1);
    void exclusive('viewer', showImage);
  });
  $('run-pgd').addEventListener('click', () => void exclusive('pgd', runPgd));
  $<HTMLSelectElement>('norm').addEventListener('change', () => {
    const linf = $<HTMLSelectElement>('norm').value === 'linf';
    $<HTMLInputElement>('eps').value = linf ? '8' : '0.5';
    $('eps-unit').textContent = linf ? '/255' : '(L2, pixels in [0, 1])';
  });

  await exclusive('data', () => loadDataset('mnist', urlSource(MNIST_SAMPLE_FILE)));
  await exclusive('viewer', showImage);
  app.ready = true;
}

void start().catch((e) => {
  app.error = String(e);
  app.ready = true;
  console.error(e);
});
