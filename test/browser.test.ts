// The page in a real browser: Debian's Chromium, headless, with WebGPU on. It serves the page with
// `npm run serve`'s server, runs the kernel tests in the page (the same test/cases as Node) and checks
// them against Node's outputs, checks that frost in the page (the published textures, decoded in the
// page) equals frost in Node, trains a few steps and checks that the loss falls, loads a checkpoint
// written by the Node side and checks that the page predicts what Node predicts, and saves a
// screenshot. A browser that cannot start fails the test: nothing here is skipped.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Generator } from '../engine/ops/random.js';
import { tensor } from '../engine/tensor.js';
import { loadFrostTextures } from '../experiments/corruptions/frost-node.js';
import { corrupt } from '../experiments/corruptions/index.js';
import { subset } from '../experiments/data/dataset.js';
import { MemoryStore } from '../experiments/io/store.js';
import { evaluate, train, type TrainConfig } from '../experiments/train.js';
import { decodeMnistSample, type PageDataset } from '../web/data.js';
import { u8ToFloat } from '../web/images.js';
import { pathSource } from '../web/io/files-node.js';
import type { KernelTestReport } from '../web/tests.js';
import { SWIFTSHADER_SKIPS } from '../web/tests.js';
import { inferBatch } from '../web/trainer.js';
import { boundAt, caseId, Checker, kernelCases } from './cases/index.js';
import { ensureChromium } from './chromium.js';
import { setupGpu } from './helpers.js';

/**
 * navigator.gpu in headless Chromium on a machine without a GPU. --enable-unsafe-webgpu exposes
 * WebGPU on Linux. By default Chromium runs it on SwiftShader (its built-in CPU Vulkan; the system's
 * lavapipe is visible to Dawn but refused by Chromium's adapter blocklist for CPU adapters), and
 * SwiftShader's GPU process dies on the convolution kernels' scalar paths. With
 * --use-webgpu-adapter=opengles and a compatibility-mode adapter (the page's ?adapter=compatibility)
 * Dawn runs on OpenGL ES through ANGLE (--use-angle=vulkan) on lavapipe instead, the driver Node uses.
 * --disable-gpu-watchdog keeps long shader compiles from being taken for a hung GPU process; the
 * rest keeps a closed network quiet.
 */
export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu-sandbox',
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=vulkan', '--use-webgpu-adapter=opengles', '--disable-gpu-watchdog',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--disable-default-apps', '--disable-extensions', '--no-default-browser-check',
];
/** Query that makes the page ask for the compatibility-mode adapter. */
const ADAPTER = 'adapter=compatibility';

const SCREENSHOTS = resolve('dist/screenshots');
const MINUTE = 60_000;

let server: ChildProcess | null = null;
let baseUrl = '';
let context: BrowserContext | null = null;
let userDataDir = '';
let page: Page;
const pageErrors: string[] = [];
let sample: PageDataset;

function startServer(): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    const child = spawn(process.execPath, ['dist/scripts/serve.js', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the page server printed no URL within 20 s:\n${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk;
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[0]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) => reject(new Error(`the page server exited (code ${code}):\n${out}`)));
  });
}

async function launch(executable: string): Promise<BrowserContext> {
  userDataDir = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  try {
    return await chromium.launchPersistentContext(userDataDir, {
      executablePath: executable, headless: true, args: CHROMIUM_ARGS, ignoreDefaultArgs: ['--headless'],
      viewport: { width: 1360, height: 900 }, timeout: 60_000,
    });
  } catch (e) {
    throw new Error(`browser test: Chromium (${executable}) did not start: ${(e as Error).message}`);
  }
}

async function openPage(path: string): Promise<Page> {
  const p = await context!.newPage();
  p.setDefaultTimeout(20 * MINUTE);
  p.on('pageerror', (e) => pageErrors.push(`${path}: ${e.message}`));
  p.on('console', (m) => {
    // An error, or frost falling back to procedural textures, fails the test that caused it.
    if (m.type() === 'error' || /procedural/.test(m.text())) pageErrors.push(`${path}: console: ${m.text()}`);
  });
  const response = await p.goto(baseUrl + path);
  assert.is(response?.status(), 200, `GET ${path}`);
  return p;
}

function log(line: string): void {
  console.log(`    browser: ${line}`);
}

test.before(async () => {
  // First, so a missing browser is reported (or installed) before anything slower starts.
  const browser = ensureChromium();
  await setupGpu();
  baseUrl = await startServer();
  context = await launch(browser);
  sample = decodeMnistSample(await pathSource('dist/web/mnist-sample.bin').bytes());
  mkdirSync(SCREENSHOTS, { recursive: true });
});

test.after(async () => {
  await context?.close().catch(() => undefined);
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  if (server?.pid) process.kill(server.pid);
});

test('the page loads with WebGPU and without errors', async () => {
  page = await openPage(`?${ADAPTER}`);
  await page.waitForFunction(() => (globalThis as { app?: { ready: boolean } }).app?.ready === true, null, { timeout: 10 * MINUTE });
  const state = await page.evaluate(() => {
    const app = (globalThis as unknown as { app: { error: string | null; adapter: string; tile: () => string; dataset: () => unknown } }).app;
    return { error: app.error, adapter: app.adapter, tile: app.tile(), dataset: app.dataset(), banner: !(document.getElementById('no-webgpu') as HTMLElement).hidden };
  });
  log(`adapter ${state.adapter}, GEMM tile ${state.tile}`);
  // Compatibility mode's default tile (engine/ops/gemm.ts COMPATIBILITY_TILE): GL compiles the 4×32 kernel for minutes.
  assert.is(state.tile, '4×8');
  assert.is(state.error, null, `page error: ${state.error}`);
  assert.not.ok(state.banner, 'the no-WebGPU banner is shown');
  assert.equal(state.dataset, { name: 'mnist', train: sample.train.size, test: sample.test.size });
  assert.equal(pageErrors, []);
});

test('frost in the page uses the published textures and equals frost in Node', async () => {
  const [index, severity] = [5, 5];
  const pageValues = await page.evaluate(([i, s]) => (globalThis as unknown as { app: { corrupt: (i: number, n: string, s: number) => Promise<number[]> } }).app.corrupt(i, 'frost', s), [index, severity]);
  const pixels = new Uint8Array(32 * 32 * 3);
  await sample.test.read([index], pixels, new Int32Array(1));
  const textures = await loadFrostTextures('data/frost');
  const input = tensor(u8ToFloat(pixels), [1, 32, 32, 3]);
  const out = await corrupt(input, 'frost', severity, { generator: new Generator(index, { stream: 7 }), parameters: 'cifar10', frostTextures: textures });
  const nodeValues = await out.toArray();
  [input, out, ...textures].forEach((t) => t.dispose());
  assert.is(pageValues.length, nodeValues.length);
  // Each output is c0·x + c1·t in f32 with t a texture byte / 255: both sides within a few ulps of 1.
  const worst = Math.max(...pageValues.map((v, i) => Math.abs(v - nodeValues[i])));
  log(`frost (image ${index}, severity ${severity}): page vs Node max |diff| ${worst.toExponential(2)}`);
  assert.ok(worst <= 4 * 2 ** -24, `page and Node frost differ by up to ${worst}`);
  assert.equal(pageErrors, []);
});

test('kernel tests pass in the page and agree with Node within their bounds', async () => {
  const p = await openPage(`?tests&${ADAPTER}`);
  await p.waitForFunction(() => (globalThis as { kernelTests?: { done: boolean } }).kernelTests?.done === true, null, { timeout: 30 * MINUTE, polling: 1000 });
  const report = await p.evaluate(() => (globalThis as unknown as { kernelTests: KernelTestReport }).kernelTests);
  await p.screenshot({ path: join(SCREENSHOTS, 'tests.png'), fullPage: true });
  log(`kernel tests on ${report.adapter}: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped in ${(report.milliseconds / 1000).toFixed(0)} s; screenshot ${join(SCREENSHOTS, 'tests.png')}`);
  const failures = report.results.filter((r) => !r.passed && !r.skipped).map((r) => `${r.id}: ${r.error}`);
  assert.equal(failures, [], 'cases failing in the page');
  assert.is(report.results.length, kernelCases.length, 'every case ran or was skipped');
  const skipped = report.results.filter((x) => x.skipped).map((r) => `${r.id} (${r.error}; known: ${SWIFTSHADER_SKIPS.includes(r.id)})`);
  assert.equal(skipped, [], 'cases skipped in the page');
  // The same cases in Node; each output of the page must be within twice the case's bound of Node's
  // (each side is within the bound of the exact value), and exactly equal where the bound is 0.
  const disagreements: string[] = [];
  for (const c of kernelCases) {
    const result = report.results.find((r) => r.id === caseId(c))!;
    if (result.skipped) continue;
    const check = new Checker();
    await c.run(check);
    if (check.outputs.length !== result.outputs.length) {
      disagreements.push(`${result.id}: ${result.outputs.length} outputs in the page, ${check.outputs.length} in Node`);
      continue;
    }
    check.outputs.forEach((node, k) => {
      const bytes = Buffer.from(result.outputs[k].actual, 'base64');
      const pageValues = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
      if (result.outputs[k].label !== node.label || pageValues.length !== node.actual.length) {
        disagreements.push(`${result.id} / ${node.label}: output ${k} is '${result.outputs[k].label}' [${pageValues.length}] in the page, [${node.actual.length}] in Node`);
        return;
      }
      for (let i = 0; i < pageValues.length; i++) {
        const a = pageValues[i];
        const b = node.actual[i];
        const tolerance = 2 * boundAt(node.bound, i);
        if (!(a === b || Math.abs(a - b) <= tolerance || (Number.isNaN(a) && Number.isNaN(b)))) {
          disagreements.push(`${result.id} / ${node.label}[${i}]: page ${a}, Node ${b} (|diff| ${Math.abs(a - b).toExponential(2)} > ${tolerance.toExponential(2)})`);
          return;
        }
      }
    });
  }
  assert.equal(disagreements, [], 'page and Node outputs differ beyond the bounds');
  await p.close();
});

test('training in the page lowers the loss and draws the charts', async () => {
  const steps = 16;
  await page.fill('#alpha', '-0.5');
  await page.fill('#steps', String(steps));
  await page.fill('#batch', '32');
  await page.fill('#lr', '0.05');
  const started = Date.now();
  await page.click('#train');
  await page.waitForFunction((n) => {
    const app = (globalThis as unknown as { app: { busy: boolean; history: () => unknown[] } }).app;
    return !app.busy && app.history().length >= n;
  }, steps, { timeout: 20 * MINUTE, polling: 1000 });
  const history = await page.evaluate(() => (globalThis as unknown as { app: { history: () => { loss: number; accuracy: number; selectivity: number }[]; error: string | null } }).app.history());
  const losses = history.map((h) => h.loss);
  log(`trained ${steps} steps (α = -0.5) in ${((Date.now() - started) / 1000).toFixed(0)} s; loss ${losses.map((l) => l.toFixed(2)).join(' ')}`);
  assert.ok(history.every((h) => Number.isFinite(h.loss) && h.accuracy >= 0 && h.accuracy <= 1 && h.selectivity >= 0 && h.selectivity <= 1), `metrics out of range: ${JSON.stringify(history)}`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(losses.slice(0, 4));
  const last = mean(losses.slice(-4));
  assert.ok(last < first - 0.1, `loss did not fall: first four steps ${first.toFixed(3)}, last four ${last.toFixed(3)}`);
  // Every chart has drawn its line (pixels of the series colour).
  const drawn = await page.evaluate(() => Array.from(document.querySelectorAll<HTMLCanvasElement>('canvas.chart'), (c) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) coloured++;
    return coloured;
  }));
  assert.is(drawn.length, 3, 'three charts');
  assert.ok(drawn.every((n) => n > 50), `chart pixels: ${drawn}`);
  assert.equal(pageErrors, []);
});

test('the regime selector trains one PGD-AT step in the page', async () => {
  await page.selectOption('#regime', 'pgd');
  await page.fill('#regime-eps', '0.3');
  await page.fill('#steps', '1');
  await page.fill('#batch', '8');
  await page.click('#train');
  await page.waitForFunction(() => {
    const app = (globalThis as unknown as { app: { busy: boolean; error: string | null; history: () => unknown[] } }).app;
    return app.error !== null || (!app.busy && app.history().length === 1);
  }, null, { timeout: 20 * MINUTE, polling: 500 });
  const state = await page.evaluate(() => {
    const app = (globalThis as unknown as { app: { error: string | null; history: () => { loss: number; accuracy: number; selectivity: number }[]; regime: () => unknown } }).app;
    return { error: app.error, history: app.history(), regime: app.regime() };
  });
  await page.selectOption('#regime', 'standard');
  await page.fill('#regime-eps', '');
  assert.is(state.error, null, `page error: ${state.error}`);
  log(`one PGD-AT step in the page: loss ${state.history[0].loss.toFixed(3)}, SI ${state.history[0].selectivity.toFixed(3)}`);
  // One step: a warm-up of ceil(1/4) = 1 step, so that step already attacks at the full ε.
  assert.equal(state.regime, { regime: 'pgd', warmupSteps: 1, adversarial: { method: 'pgd', norm: 'linf', eps: 0.3, steps: 7, stepSize: (2.5 * 0.3) / 7, warmupEpochs: 0 }, augmentCorruptions: null });
  const [h] = state.history;
  assert.ok(Number.isFinite(h.loss) && h.accuracy >= 0 && h.accuracy <= 1 && h.selectivity >= 0 && h.selectivity <= 1, `metrics out of range: ${JSON.stringify(h)}`);
  assert.match(await page.textContent('#train-status') ?? '', /PGD-7 L∞ ε=0.3/);
  assert.equal(pageErrors, []);
});

test('a checkpoint saved by Node is evaluated in the page with the same predictions', async () => {
  // Node: a short run on the page's own MNIST sample, through the CLI's training loop.
  const config: TrainConfig = {
    model: 'resnet20', shortcut: 'A', data: 'mnist', epochs: 1, batchSize: 32, lr: 0.05, schedule: 'constant', milestones: [],
    momentum: 0.9, weightDecay: 5e-4, nesterov: false, seed: 11, alpha: 0, augmentPadding: 2, augmentFlip: false,
    limitTrain: 320, limitTest: 64, evalBatchSize: 64,
  };
  const store = new MemoryStore('node-run');
  const trainPart = subset(sample.train, Array.from({ length: 320 }, (_, i) => (i * 9) % sample.train.size));
  const run = await train(config, { store, train: trainPart, test: subset(sample.test, Array.from({ length: 64 }, (_, i) => i)), numClasses: 10 });
  const dir = mkdtempSync(join(tmpdir(), 'browser-checkpoint-'));
  const path = join(dir, 'model.safetensors');
  writeFileSync(path, await store.readBytes('model.safetensors'));
  const count = 64;
  const images = new Uint8Array(count * 32 * 32 * 3);
  const labels = new Int32Array(count);
  await sample.test.read(Int32Array.from({ length: count }, (_, i) => i), images, labels);
  const nodeLogits = await inferBatch(run.model, images, count, 32, 32);
  const nodePredicted = Array.from({ length: count }, (_, i) => {
    const row = nodeLogits.subarray(i * 10, i * 10 + 10);
    return row.indexOf(Math.max(...row));
  });
  const nodeEval = await evaluate(run.model, sample.test, 200, undefined, 10);
  run.model.dispose();

  try {
    await page.setInputFiles('#checkpoint-file', path);
    await page.waitForFunction(() => {
      const app = (globalThis as unknown as { app: { busy: boolean; error: string | null; checkpoint: () => { accuracy?: number } | null } }).app;
      return app.error !== null || (!app.busy && app.checkpoint()?.accuracy !== undefined);
    }, null, { timeout: 20 * MINUTE, polling: 500 });
    const state = await page.evaluate(() => {
      const app = (globalThis as unknown as { app: { error: string | null; checkpoint: () => { accuracy?: number; loss?: number; selectivity?: number } | null } }).app;
      return { error: app.error, checkpoint: app.checkpoint() };
    });
    assert.is(state.error, null, `page error: ${state.error}`);
    const page64 = await page.evaluate((n) => (globalThis as unknown as { app: { predict: (s: number, c: number) => Promise<{ predicted: number[]; logits: number[] }> } }).app.predict(0, n), count);
    log(`checkpoint: Node accuracy ${(100 * nodeEval.accuracy).toFixed(2)}%, page ${(100 * state.checkpoint!.accuracy!).toFixed(2)}% on ${sample.test.size} held-out digits`);
    assert.equal(page64.predicted, nodePredicted, 'predicted classes of test images 0..63');
    const scale = Math.max(...Array.from(nodeLogits, Math.abs));
    const worst = Math.max(...page64.logits.map((v, i) => Math.abs(v - nodeLogits[i])));
    assert.ok(worst <= 1e-3 * scale + 1e-4, `logits differ by up to ${worst} (largest |logit| ${scale})`);
    // Dataset-wide: the page evaluated all held-out digits; an image whose two best logits are
    // within rounding of each other may go either way, so allow one such flip per thousand.
    assert.ok(Math.abs(state.checkpoint!.accuracy! - nodeEval.accuracy) <= 1 / sample.test.size + 1e-9, `held-out accuracy: page ${state.checkpoint!.accuracy}, Node ${nodeEval.accuracy}`);
    assert.ok(Math.abs(state.checkpoint!.loss! - nodeEval.loss) <= 1e-3 * nodeEval.loss, `held-out loss: page ${state.checkpoint!.loss}, Node ${nodeEval.loss}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(pageErrors, []);
});

test('the page example (docs/examples/mnist-page.ts) trains its perceptron from the package\'s browser entry point', async () => {
  const p = await openPage(`examples/mnist-page.html?${ADAPTER}`);
  await p.waitForFunction(() => {
    const example = (globalThis as { example?: { accuracy?: number; error?: string } }).example;
    return example?.accuracy !== undefined || example?.error !== undefined;
  }, null, { timeout: 10 * MINUTE, polling: 500 });
  const result = await p.evaluate(() => (globalThis as unknown as { example: { losses: number[]; accuracy?: number; error?: string } }).example);
  assert.is(result.error, undefined, `page example error: ${result.error}`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(result.losses.slice(0, 10));
  const last = mean(result.losses.slice(-10));
  log(`page example: ${result.losses.length} steps, loss ${first.toFixed(3)} → ${last.toFixed(3)}, held-out accuracy ${(100 * result.accuracy!).toFixed(1)}%`);
  assert.ok(last < first / 2, `the loss did not fall enough: ${first} → ${last}`);
  assert.ok(result.accuracy! > 0.5, `accuracy ${result.accuracy} is not well above chance (0.1)`);
  await p.close();
  assert.equal(pageErrors, []);
});

test('PGD on a test image, and a screenshot of the page', async () => {
  await page.fill('#image-index', '3');
  await page.fill('#pgd-steps', '5');
  await page.click('#run-pgd');
  await page.waitForFunction(() => {
    const app = (globalThis as unknown as { app: { busy: boolean; error: string | null } }).app;
    return !app.busy && (app.error !== null || document.querySelectorAll('#pgd-images canvas').length === 3);
  }, null, { timeout: 20 * MINUTE, polling: 500 });
  const error = await page.evaluate(() => (globalThis as unknown as { app: { error: string | null } }).app.error);
  assert.is(error, null, `page error: ${error}`);
  const shot = join(SCREENSHOTS, 'page.png');
  await page.screenshot({ path: shot, fullPage: true });
  log(`screenshot ${shot}`);
  assert.equal(pageErrors, []);
});

test.run();
