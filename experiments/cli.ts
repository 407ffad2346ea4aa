#!/usr/bin/env node
// The command-line entry point: `node dist/experiments/cli.js <command> [options]` (npm run cli -- …).
import { destroyGpu } from '../engine/device.js';
import '../engine/ops/index.js';
import { UsageError } from './cli/args.js';

/** `gpu: false` marks commands that never touch the GPU; the others start it themselves once their arguments are parsed (cli/gpu.ts). */
const commands: Record<string, { summary: string; gpu?: false; run: () => Promise<(argv: string[]) => Promise<void>> }> = {
  train: { summary: 'train a ResNet (optionally selectivity-regularized) into a run directory', run: async () => (await import('./cli/train.js')).trainCommand },
  eval: { summary: 'test accuracy of a checkpoint', run: async () => (await import('./cli/eval.js')).evalCommand },
  selectivity: { summary: 'class selectivity of every block output of a checkpoint (JSON + SVG)', run: async () => (await import('./cli/selectivity.js')).selectivityCommand },
  sweep: { summary: 'train an α × seed grid (shardable across workers: --shard i/n)', run: async () => (await import('./cli/sweep.js')).sweepCommand },
  study: { summary: 'the paper\'s findings tested end to end: train an α × seed grid, measure every network, verdicts with statistics', run: async () => (await import('./cli/study.js')).studyCommand },
  merge: { summary: 'collect the finished runs of a sweep into one CSV', run: async () => (await import('./cli/sweep.js')).mergeCommand },
  'gradient-variability': { summary: 'variability of units\' input gradients across samples and units', run: async () => (await import('./cli/gradients.js')).gradientsCommand },
  dimensionality: { summary: 'PCA dimensionality of block outputs: clean, corrupted, adversarial, and the change', run: async () => (await import('./cli/dimensionality.js')).dimensionalityCommand },
  report: { summary: 'HTML report of a sweep: figures, correlations, agreement with the paper', run: async () => (await import('./cli/report.js')).reportCommand },
  corrupt: { summary: 'write a corrupted test set (GPU corruptions) in the CIFAR-10-C layout', run: async () => (await import('./cli/corruptions.js')).corruptCommand },
  'eval-corruptions': { summary: 'accuracy per corruption × severity, mCA and drop from clean (CSV, JSON, SVG)', run: async () => (await import('./cli/corruptions.js')).evalCorruptionsCommand },
  'corruption-gallery': { summary: 'one test image under every corruption and severity (PNG or SVG)', run: async () => (await import('./cli/corruptions.js')).galleryCommand },
  attack: { summary: 'robust accuracy under PGD / FGSM (L∞ or L2) over an ε grid: CSV, JSON with AUC, SVG charts', run: async () => (await import('./cli/attack.js')).attackCommand },
  autotune: { summary: 'choose the fastest GEMM tile for this adapter (cached for later commands)', run: async () => (await import('./cli/autotune.js')).autotuneCommand },
  bench: { summary: 'kernel and model benchmarks (same as npm run bench)', run: async () => (await import('./bench.js')).main },
  download: { summary: 'fetch, verify and unpack a published dataset: cifar10, cifar10-c, tinyimagenet, tinyimagenet-c', gpu: false, run: async () => (await import('./cli/download.js')).downloadCommand },
};

function usage(): string {
  return ['Usage: cli <command> [options]   (each command takes --help)', '', 'Commands:', ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(22)} ${c.summary}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    console.error(`unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const run = await command.run();
  await run(rest);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    destroyGpu();
    process.exit(code);
  },
  (error) => {
    console.error(error instanceof UsageError ? error.message : error instanceof Error ? (process.env.DEBUG ? error.stack : error.message) : error);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
