// The loader fuzz, run as its own process by test/fuzz.test.ts so that a crash or a hang is caught
// and attributed to its case: `node dist/test/fuzz/run.js SEED BUDGET_MS WORK_DIR`. Before each case
// it prints "CASE <format> | <name>"; at the end "RESULT <json>" with counts and failures.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { initGpu } from '../../engine/device.js';
import '../../engine/ops/index.js';
import { loadTinyImageNet } from '../../experiments/data/tinyimagenet.js';
import { loadTinyImageNetC } from '../../experiments/data/corrupted.js';
import { readRange } from '../../experiments/data/dataset.js';
import { mulberry32 } from '../../experiments/data/dataset.js';
import { checkpoints, cifar10, cifar10C, floatNpy, prepareCase, runCase, tinyImageNet, tinyImageNetC, type FuzzCase, type Format } from './formats.js';

const [seed, budgetMs, work] = [Number(process.argv[2] ?? 16), Number(process.argv[3] ?? 60_000), process.argv[4] ?? '/tmp/fuzz-loaders'];
const started = performance.now();
await initGpu();
rmSync(work, { recursive: true, force: true });

// Clean decodings of the JPEG fixtures, by whatever decoder the loaders use.
const tinBase = join(work, 'base-tinyimagenet');
const tincBase = join(work, 'base-tinyimagenet-c');
let tinDecoded: { train: Uint8Array[]; val: Uint8Array[] } | null = null;
let tincDecoded: Uint8Array[] | null = null;
const split = (images: Uint8Array, n: number) => Array.from({ length: n }, (_, i) => images.slice(i * 12288, (i + 1) * 12288));

const formats: Format[] = [cifar10, cifar10C, floatNpy, checkpoints, tinyImageNet(() => tinDecoded!), tinyImageNetC(() => tincDecoded!)];
const queues: FuzzCase[][] = [];
const bases: string[] = [];
for (const format of formats) {
  const base = format.name.startsWith('Tiny ImageNet') ? tinBase : format.name.startsWith('Tiny-ImageNet-C') ? tincBase : join(work, `base-${queues.length}`);
  mkdirSync(base, { recursive: true });
  await format.base(base);
  bases.push(base);
  queues.push(format.cases(base, mulberry32(seed * 7919 + queues.length)));
}
{
  const { train, val } = await loadTinyImageNet(tinBase, { cacheDir: join(work, 'clean-cache') });
  tinDecoded = { train: split((await readRange(train)).images, train.size), val: split((await readRange(val)).images, val.size) };
  await Promise.all([train.close(), val.close()]);
  const c = await loadTinyImageNetC(tincBase, 'fog', 2, { wnidsFile: join(tincBase, 'wnids-fog.txt'), cacheDir: join(work, 'clean-cache-c') });
  tincDecoded = split((await readRange(c)).images, c.size);
  await c.close();
}

const summary: Record<string, { cases: number; loaded: number; rejected: number; failures: string[] }> = {};
for (const f of formats) summary[f.name] = { cases: 0, loaded: 0, rejected: 0, failures: [] };
// Round robin over the formats, so a budget cut leaves every format covered.
let stoppedEarly = false;
for (let i = 0; queues.some((q) => i < q.length); i++) {
  for (const [k, queue] of queues.entries()) {
    const c = queue[i];
    if (!c) continue;
    if (performance.now() - started > budgetMs) {
      stoppedEarly = true;
      break;
    }
    process.stdout.write(`CASE ${c.format} | ${c.name}\n`);
    const dir = join(work, 'case');
    prepareCase(c, bases[k], dir);
    const outcome = await runCase(c, dir);
    const s = summary[c.format];
    s.cases++;
    if (outcome.kind === 'loaded') s.loaded++;
    else if (outcome.kind === 'rejected') s.rejected++;
    else s.failures.push(`${c.name}: ${outcome.reason}`);
  }
  if (stoppedEarly) break;
}
rmSync(work, { recursive: true, force: true });
process.stdout.write(`RESULT ${JSON.stringify({ seed, seconds: (performance.now() - started) / 1000, stoppedEarly, planned: queues.reduce((s, q) => s + q.length, 0), formats: summary })}\n`);
process.exit(0);
