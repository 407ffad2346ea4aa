// The kernels must be right on adapters unlike the one the tests run on: GPUs whose subgroups are
// 32 or 64 lanes wide, or vary between dispatches (Intel: 8 to 32), and adapters or browsers with
// no subgroups at all. lavapipe can play each part, in a child process with its own environment:
//  - SELECTIVITY_SUBGROUPS=off withholds the subgroups feature: every kernel's subgroup-free path;
//  - LP_NATIVE_VECTOR_WIDTH=256 gives 8-lane subgroups (the test run itself gets 16 on AVX-512);
//  - SELECTIVITY_SUBGROUPS=4 builds the kernels for 4 lanes while the subgroups have 8 or 16: the
//    case of subgroups wider than the kernels assume, as when their size varies;
//  - a shared-memory GEMM tile: the GPU tiling, through the matmul cases;
//  - register tiles written out in straight-line code, as on GPUs (CPU adapters write them in a loop).
// A representative subset of the kernel cases runs in each (all GEMM shapes, reductions, batch norm).
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

interface ChildReport {
  device: { description: string; features: string[]; subgroupSize: number | null; vectorWidth: string | null };
  results: { name: string; error?: string }[];
}

function runChild(env: Record<string, string>, args: string[]): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/test/fixtures/kernel-cases-child.js', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as ChildReport);
      } catch {
        reject(new Error(`the child (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}) exited with ${code} and no report:\n${out}\n${err.split('\n').filter((l) => !l.startsWith('Warning: maxDynamic')).join('\n')}`));
      }
    });
  });
}

function assertAllPassed(what: string, report: ChildReport, minimum: number): void {
  const failed = report.results.filter((r) => r.error);
  assert.ok(report.results.length >= minimum, `${what}: only ${report.results.length} cases ran`);
  assert.is(failed.length, 0, `${what} (${report.device.description}, subgroup size ${report.device.subgroupSize}):\n${failed.map((f) => `  ${f.name}: ${f.error}`).join('\n')}`);
}

// The matmul cases cover both subgroup-shared B layouts (B along N, and Bᵀ along K); the conv cases
// are the slowest to compile, so the ResNet-like ones run (stem, body, stride-2 transition and
// projection, a strided data gradient by phases).
const gemmAndReductions = ['--suites', 'matmul,reduce,batchnorm'];
const resnetConvs = ['--suites', 'conv', '--only', ',16\\]→|,3\\]→16|,4\\]→8 k3x3 s2'];

test('with the subgroups feature withheld, the kernels take their subgroup-free paths and match the references', async () => {
  const report = await runChild({ SELECTIVITY_SUBGROUPS: 'off' }, gemmAndReductions);
  assert.not.ok(report.device.features.includes('subgroups'), `features ${report.device.features.join(', ')}`);
  assert.is(report.device.subgroupSize, null);
  assertAllPassed('subgroups withheld', report, 15);
  assertAllPassed('subgroups withheld, convolutions', await runChild({ SELECTIVITY_SUBGROUPS: 'off' }, resnetConvs), 5);
});

test('on 8-lane llvmpipe (LP_NATIVE_VECTOR_WIDTH=256) the kernels match the references', async () => {
  const report = await runChild({ LP_NATIVE_VECTOR_WIDTH: '256' }, gemmAndReductions);
  if (report.device.subgroupSize === null) return; // an adapter without subgroups: the test above covers it
  assert.is(report.device.subgroupSize, 8, `subgroup size on ${report.device.description}`);
  assertAllPassed('8-lane subgroups', report, 15);
  assertAllPassed('8-lane subgroups, convolutions', await runChild({ LP_NATIVE_VECTOR_WIDTH: '256' }, resnetConvs), 5);
});

test('kernels built for 4 lanes are right on wider subgroups (sizes that vary between dispatches)', async () => {
  const report = await runChild({ SELECTIVITY_SUBGROUPS: '4' }, ['--suites', 'matmul']);
  if (report.device.subgroupSize === null) return;
  assert.is(report.device.subgroupSize, 4);
  assertAllPassed('kernels for 4 lanes', report, 10);
});

// (test/matmul.test.ts also runs every tile candidate, shared ones included, on the three conv directions.)
test('shared-memory GEMM tiles (the GPU tiling) match the references in the matmul cases', async () => {
  assertAllPassed('shared 4×8 tiles', await runChild({}, ['--suites', 'matmul', '--tile', '4x8s']), 10);
});

test('register tiles written out in straight-line code (GPU adapters) match the references', async () => {
  // Every write-out the template has: plain, bias (linear), bias + residual + ReLU, split K, and a
  // strided data gradient's row-offset hook (sub-pixel phases).
  const report = await runChild({}, ['--suites', 'matmul,conv', '--store-loop', 'off', '--only', '^(matmul|linear|subgroup|broadcasts)|write-out|\\[1,7,7,4\\]→8 k3x3 s2']);
  assertAllPassed('straight-line write-out', report, 16);
});

test('SELECTIVITY_SUBGROUPS rejects what it cannot mean, naming the variable', async () => {
  const { subgroupsFromEnvironment } = await import('../engine/device.js');
  assert.is(subgroupsFromEnvironment('off'), false);
  assert.is(subgroupsFromEnvironment('8'), 8);
  assert.is(subgroupsFromEnvironment(undefined), undefined);
  assert.throws(() => subgroupsFromEnvironment('12'), /SELECTIVITY_SUBGROUPS=12: expected off, on, or a power-of-two lane count/);
});

test.run();
