import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mapProgram } from '../shaders/elementwise.js';
import { backward } from '../engine/autograd.js';
import { GpuError, gpu, isCpuAdapter } from '../engine/device.js';
import { add, mul, relu } from '../engine/ops/elementwise.js';
import { sum } from '../engine/ops/reduce.js';
import { run } from '../engine/ops/run.js';
import { sizeClass } from '../engine/pool.js';
import { runtime } from '../engine/runtime.js';
import { scope, tensor } from '../engine/tensor.js';
import { setupGpu } from './helpers.js';

test.before(setupGpu);

test('a WebGPU validation error surfaces as an exception naming the op', async () => {
  const t = tensor([1, 2, 3, 4]);
  // Binding one buffer both read-only and writable is invalid: the batch must fail loudly.
  run(mapProgram({ name: 'alias', arity: 1, expr: 'a' }, 'same', true), { abuf: t, out: t }, { count: 1, s0: 0, s1: 0 }, 1, 'deliberately invalid op [4]');
  let error: unknown = null;
  try {
    await runtime().sync();
  } catch (e) {
    error = e;
  }
  assert.instance(error, GpuError);
  assert.match(String(error), /deliberately invalid op \[4\]/);
  // The engine keeps working afterwards.
  assert.equal(Array.from(await add(t, t).toArray()), [2, 4, 6, 8]);
});

test('two programs under one key are refused, not run with the other one\'s layout', () => {
  const copy = mapProgram({ name: 'key_clash', arity: 1, expr: 'a' }, 'same', false);
  const sum = { ...mapProgram({ name: 'key_clash', arity: 2, expr: 'a + b' }, 'same', false), key: copy.key };
  const [a, out] = [tensor([1, 2, 3]), tensor([0, 0, 0])];
  run(copy, { abuf: a, out }, { count: 3, s0: 0, s1: 0 }, 1, 'copy [3]');
  assert.throws(() => run(sum, { abuf: a, bbuf: a, out }, { count: 3, s0: 0, s1: 0 }, 1, 'sum [3]'), /program key 'map_key_clash_1_same_1' names two different programs: cached with \[abuf out \| count s0 s1\], now \[abuf bbuf out/);
});

test('using a disposed tensor is a clear error', () => {
  const t = tensor([1, 2]);
  t.name = 'weights';
  t.dispose();
  assert.throws(() => relu(t), /'weights' tensor f32\[2\] was used after dispose\(\)/);
});

test('backward needs a scalar (or an explicit gradient) and runs once', () => {
  const x = tensor([1, 2, 3]);
  x.requiresGrad = true;
  assert.throws(() => backward(mul(x, x)), /is not a scalar; pass \{ grad \}/);
  const y = sum(mul(x, x));
  backward(y);
  assert.throws(() => backward(y), /second time/);
  const z = sum(mul(x, x));
  backward(z, { retainGraph: true });
  backward(z);
  assert.throws(() => backward(sum(tensor([1, 2]))), /does not require grad/);
});

test('scope disposes intermediates but keeps returned and kept tensors', () => {
  const pool = runtime().pool;
  const x = tensor([1, 2, 3, 4]);
  const before = pool.snapshot().inUseBytes;
  let kept = null as ReturnType<typeof tensor> | null;
  const out = scope(() => {
    const a = add(x, x);
    kept = mul(a, a).keep();
    return { result: relu(a) };
  });
  assert.ok(!out.result.disposed && !kept!.disposed && !x.disposed);
  assert.is(pool.snapshot().inUseBytes, before + 2 * sizeClass(16));
  out.result.dispose();
  kept!.dispose();
  assert.is(pool.snapshot().inUseBytes, before);
});

test('scope releases everything when its function throws', () => {
  const before = runtime().pool.snapshot().inUseBytes;
  assert.throws(() => scope(() => {
    add(tensor([1, 2]), tensor([3, 4]));
    throw new Error('boom');
  }), /boom/);
  assert.is(runtime().pool.snapshot().inUseBytes, before);
});

test('full writes one bit pattern per element for every dtype (odd sizes included)', async () => {
  const { full, zeros, ones } = await import('../engine/ops/fill.js');
  for (const n of [1, 3, 1001]) {
    assert.equal(Array.from(await full([n], -2.5).toArray()), new Array(n).fill(-2.5));
    assert.equal(Array.from(await full([n], -7, 'i32').toArray()), new Array(n).fill(-7));
    assert.equal(Array.from(await full([n], 4294967295, 'u32').toArray()), new Array(n).fill(4294967295));
  }
  assert.equal(Array.from(await zeros([2, 3]).toArray()), [0, 0, 0, 0, 0, 0]);
  assert.equal(Array.from(await ones([5]).toArray()), [1, 1, 1, 1, 1]);
  assert.is(full([0, 4], 1).size, 0);
});

test('CPU adapters are recognised from their description (they get fewer K splits)', () => {
  assert.ok(isCpuAdapter({ description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) 0.0.1', vendor: 'mesa', architecture: 'software' }));
  assert.ok(isCpuAdapter({ description: 'ANGLE (Mesa, llvmpipe (LLVM 15.0.6, 256 bits), OpenGL 4.5)' }));
  assert.ok(isCpuAdapter({ description: 'SwiftShader Device (Subzero)', vendor: 'google' }));
  assert.ok(isCpuAdapter({ description: 'Microsoft Basic Render Driver' }));
  assert.ok(isCpuAdapter({ description: 'some adapter', isFallbackAdapter: true }));
  assert.not.ok(isCpuAdapter({ description: 'NVIDIA H100 80GB HBM3', vendor: 'nvidia', architecture: 'hopper' }));
  assert.not.ok(isCpuAdapter({ description: 'AMD Radeon Pro 5500M', vendor: 'amd', architecture: 'rdna-1' }));
  assert.not.ok(isCpuAdapter({}));
  assert.type(gpu().info.cpu, 'boolean');
});

test('size classes bound slack at 25%', () => {
  for (const n of [1, 255, 256, 257, 1000, 4096, 5000, 123457, 1 << 20]) {
    const c = sizeClass(n);
    assert.ok(c >= n && (c <= 256 || c <= n * 1.25), `${n} → ${c}`);
  }
});

test.run();
