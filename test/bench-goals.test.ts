import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Measurement } from '../experiments/bench.js';
import { checkGoals, formatGoals, GOALS } from '../experiments/bench-goals.js';

const row = (name: string, shape: string, medianMs: number, minMs: number, rate: Partial<Measurement>): Measurement => ({
  name, shape, firstMs: medianMs, medianMs, minMs, adapter: 'test', date: '2026-01-01T00:00:00.000Z', version: '0', ...rate,
});

test('bench goals: each goal is checked on its rows, the slowest row counts, and the fastest run scales the rate by median/min', () => {
  const results = [
    row('resnet20 training step', 'batch 128, 32x32', 800, 640, { imagesPerSecond: 160 }),
    row('matmul', '1024³ (1024x1024·1024x1024)', 40, 20, { gflops: 50 }),
    row('matmul', '2048³ (2048x2048·2048x2048)', 200, 200, { gflops: 90 }),
    row('batchnorm train fwd+bwd', '128x32x32x16', 10, 5, { gbps: 30 }),
    row('batchnorm train fwd+bwd', '128x16x16x32', 10, 10, { gbps: 6 }),
    row('PGD-20 L∞ attack', 'resnet20, batch 128, 32x32', 5000, 4000, { imagesPerSecond: 25.6 }),
  ];
  const checks = checkGoals(results);
  const by = Object.fromEntries(checks.map((c) => [c.goal, c]));
  // Inference and ResNet18 did not run: no check for them.
  assert.equal(checks.map((c) => c.goal), GOALS.map((g) => g.name).filter((n) => !/inference|ResNet18/.test(n)));
  const training = by['ResNet20 training, batch 128'];
  assert.equal([training.median, training.fastest, training.met], [160, 200, false]);
  // Only the 1024³ row is the matmul goal's, not the faster 2048³.
  const matmul = by['matmul 1024³, f32'];
  assert.equal([matmul.median, matmul.fastest, matmul.met], [50, 100, false]);
  // Batch norm: the slower of its shapes.
  assert.equal([by['batch-norm training fwd+bwd, ResNet20 shapes'].median, by['batch-norm training fwd+bwd, ResNet20 shapes'].unit], [6, 'GB/s']);
  assert.ok(by['PGD-20 L∞, ResNet20, batch 128'].met);
});

test('bench goals: the printed table counts the goals met and says when the adapter is not the one they were set for', () => {
  const checks = checkGoals([row('resnet18 training step', 'batch 64, 64x64', 10000, 9000, { imagesPerSecond: 6.4 })]);
  const cpu = formatGoals(checks, true);
  assert.match(cpu[0], /1 of 1 met at the median/);
  assert.not.match(cpu[0], /comparison only/);
  assert.match(cpu[2], /ResNet18 training.*≥ 5 img\/s\s+6\.4\s+7\.1\s+yes/);
  assert.match(formatGoals(checks, false)[0], /not one, so for comparison only/);
  assert.equal(formatGoals([], true), []);
});

test.run();
