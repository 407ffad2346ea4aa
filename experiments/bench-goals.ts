// The throughput goals set for the machine this project is developed on (2 CPU cores, WebGPU on
// Mesa lavapipe): `npm run bench` checks each run against them, prints the check and records it in
// its JSON, so one run says which goals it met. On other adapters the check is for comparison only.
import type { Measurement } from './bench.js';

type Rate = 'imagesPerSecond' | 'gflops' | 'gbps';

export interface Goal {
  name: string;
  /** The bench rows the goal is about; with several (batch norm's three shapes), the slowest counts. */
  rows: (m: Measurement) => boolean;
  rate: Rate;
  target: number;
}

export interface GoalCheck {
  goal: string;
  target: number;
  unit: string;
  /** The rate at the median run of the slowest row. */
  median: number;
  /** The rate at that row's fastest run. */
  fastest: number;
  /** Whether the median reaches the target. */
  met: boolean;
}

const UNITS: Record<Rate, string> = { imagesPerSecond: 'img/s', gflops: 'GFLOPS', gbps: 'GB/s' };

export const GOALS: Goal[] = [
  { name: 'ResNet20 training, batch 128', rows: (m) => m.name === 'resnet20 training step', rate: 'imagesPerSecond', target: 180 },
  { name: 'ResNet20 inference, batch 128, f32', rows: (m) => m.name === 'resnet20 inference', rate: 'imagesPerSecond', target: 800 },
  { name: 'PGD-20 L∞, ResNet20, batch 128', rows: (m) => m.name === 'PGD-20 L∞ attack', rate: 'imagesPerSecond', target: 18 },
  { name: 'ResNet18 training, batch 64 at 64×64', rows: (m) => m.name === 'resnet18 training step', rate: 'imagesPerSecond', target: 5 },
  { name: 'matmul 1024³, f32', rows: (m) => m.name === 'matmul' && m.shape.startsWith('1024³'), rate: 'gflops', target: 80 },
  { name: 'batch-norm training fwd+bwd, ResNet20 shapes', rows: (m) => m.name === 'batchnorm train fwd+bwd', rate: 'gbps', target: 20 },
];

/** Checks the goals whose rows this run measured (a rate scales with 1/time, so the fastest run's is rate·median/min). */
export function checkGoals(results: readonly Measurement[], goals: readonly Goal[] = GOALS): GoalCheck[] {
  const checks: GoalCheck[] = [];
  for (const goal of goals) {
    const rows = results.filter((m) => goal.rows(m) && Number.isFinite(m[goal.rate]));
    if (rows.length === 0) continue;
    const slowest = rows.reduce((a, b) => ((b[goal.rate] as number) < (a[goal.rate] as number) ? b : a));
    const median = slowest[goal.rate] as number;
    const fastest = slowest.minMs > 0 ? (median * slowest.medianMs) / slowest.minMs : median;
    checks.push({ goal: goal.name, target: goal.target, unit: UNITS[goal.rate], median, fastest, met: median >= goal.target });
  }
  return checks;
}

/** The check as lines of a table. */
export function formatGoals(checks: readonly GoalCheck[], cpuAdapter: boolean): string[] {
  if (checks.length === 0) return [];
  const met = checks.filter((c) => c.met).length;
  const lines = [
    `goals (set for 2 CPU cores under lavapipe${cpuAdapter ? '' : '; this adapter is not one, so for comparison only'}): ${met} of ${checks.length} met at the median`,
    `${'goal'.padEnd(46)} ${'target'.padStart(12)} ${'median'.padStart(8)} ${'fastest'.padStart(8)}  met`,
  ];
  const num = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  for (const c of checks) {
    lines.push(`${c.goal.padEnd(46)} ${`≥ ${c.target} ${c.unit}`.padStart(12)} ${num(c.median).padStart(8)} ${num(c.fastest).padStart(8)}  ${c.met ? 'yes' : 'no'}`);
  }
  return lines;
}
