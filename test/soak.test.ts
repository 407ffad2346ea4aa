// Soak: the training loop over many small steps must not leak. After the warm-up epoch the GPU pool
// creates no buffer and holds a constant number of bytes, and RSS stays within a generous bound.
// CI runs 300 steps of a tiny ResNet; SOAK_STEPS=2000 runs the long variant, SOAK_MODEL=resnet20 on
// ResNet20 (as `npm run bench -- --only soak` does).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { soak } from '../experiments/soak.js';
import { setupGpu } from './helpers.js';

test.before(setupGpu);

const steps = Number(process.env.SOAK_STEPS ?? 300);

test(`soak: ${steps} training steps, batch 8: pool flat after warm-up, RSS bounded`, async () => {
  const r = await soak({ steps, batchSize: 8, stepsPerEpoch: Math.min(100, steps / 4), tiny: process.env.SOAK_MODEL !== 'resnet20' });
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  console.log(`  soak: ${r.steps} steps in ${r.seconds.toFixed(0)} s; pool ${mib(r.poolBytesAfterWarmup)} after ${r.warmupSteps} warm-up steps, +${mib(r.poolGrowth)} and ${r.buffersCreatedAfterWarmup} buffers after; RSS ${mib(r.rssAfterWarmup)}, +${mib(r.rssGrowth)} after`);
  assert.is(r.steps, steps);
  assert.is(r.buffersCreatedAfterWarmup, 0, 'buffers created after the warm-up');
  assert.is(r.poolGrowth, 0, 'pool growth after the warm-up');
  // Generous: V8's heap and the allocator move RSS by a few MiB. Before the runtime's collection
  // hints, dropped bind groups alone added about 85 KiB a step (13 MiB over these 150 steps).
  assert.ok(r.rssGrowth < 64 * 2 ** 20, `RSS grew by ${mib(r.rssGrowth)}`);
});

test.run();
