// α × seed sweeps: one run directory per (α, seed) under SWEEP_DIR/runs, a shared base configuration
// in SWEEP_DIR/sweep.json that every worker must match, deterministic sharding (run k goes to shard
// k mod n), finished runs skipped and partial ones resumed, and a claim per run being trained
// (SWEEP_DIR/claims/, experiments/claim.ts) — so any number of workers can share a sweep without
// talking to each other, even when their shards overlap.
import type { TrainConfig } from './train.js';

export type BaseConfig = Omit<TrainConfig, 'alpha' | 'seed'>;

export interface Shard {
  index: number;
  count: number;
}

export interface RunKey {
  alpha: number;
  seed: number;
  name: string;
}

export const SWEEP_FILE = 'sweep.json';
export const RUNS_DIR = 'runs';
/** Claim files of the runs being trained (experiments/claim.ts). */
export const CLAIMS_DIR = 'claims';

/** "i/n" with 0 ≤ i < n. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new Error(`--shard: '${text}' is not of the form i/n with 0 ≤ i < n (e.g. 0/4; with Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)`);
  return { index, count };
}

export function runName(alpha: number, seed: number): string {
  return `alpha=${alpha}_seed=${seed}`;
}

/** Every (α, seed) pair in a fixed order: seeds outermost, so early shards cover every α. */
export function planRuns(alphas: readonly number[], seeds: readonly number[]): RunKey[] {
  if (alphas.length === 0 || seeds.length === 0) throw new Error('sweep: need at least one α and one seed');
  const dupes = (xs: readonly number[]) => xs.filter((x, i) => xs.indexOf(x) !== i);
  if (dupes(alphas).length) throw new Error(`sweep: α ${dupes(alphas)[0]} is listed twice`);
  if (dupes(seeds).length) throw new Error(`sweep: seed ${dupes(seeds)[0]} is listed twice`);
  return seeds.flatMap((seed) => alphas.map((alpha) => ({ alpha, seed, name: runName(alpha, seed) })));
}

export function shardOf(runs: RunKey[], shard: Shard): RunKey[] {
  return runs.filter((_, k) => k % shard.count === shard.index);
}

/** Differences between a sweep's recorded base configuration and this invocation's. */
export function baseDifferences(recorded: Record<string, unknown>, current: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(recorded), ...Object.keys(current)])];
  // A setting absent from an older record (e.g. adversarial) means it was off, as null does now.
  return keys.filter((k) => JSON.stringify(recorded[k] ?? null) !== JSON.stringify(current[k] ?? null)).map((k) => `${k}: ${JSON.stringify(recorded[k])} in the sweep vs ${JSON.stringify(current[k])} now`);
}

export interface MergedRun {
  alpha: number;
  seed: number;
  run: string;
  values: Record<string, number | string>;
}

/** CSV with the union of columns (missing values empty), rows sorted by α then seed. */
export function toCsv(rows: MergedRun[]): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r.values)))];
  const sorted = [...rows].sort((a, b) => a.alpha - b.alpha || a.seed - b.seed);
  const cell = (v: unknown) => (v === undefined ? '' : typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v));
  return [['alpha', 'seed', 'run', ...columns].join(','), ...sorted.map((r) => [r.alpha, r.seed, r.run, ...columns.map((c) => cell(r.values[c]))].join(','))].join('\n') + '\n';
}
