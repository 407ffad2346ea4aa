// `study`: the paper's question answered end to end. Trains every (α, seed) network (a sweep), runs
// every measurement on each, then tests the five findings and writes study.json and report.html.
// Finished networks and finished measurements are skipped and a killed training run resumes from its
// checkpoint, so the command can simply be run again; with --shard, workers on several machines
// share the directory, and whichever finishes last writes the verdicts. With --regimes, every network
// is also trained adversarially and/or with corruption augmentation (one sweep folder per robust
// regime, DIR/regimes/<name>/), measured the same way, and compared with its standard twin.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { tryClaim } from '../claim.js';
import { createFileExclusive, writeFileAtomic } from '../io/atomic.js';
import { DATASET_NAMES, type DatasetName } from '../models.js';
import { formatDuration } from '../progress.js';
import { collectRegimes } from '../report/collect.js';
import { regimeReport } from '../report/regimes.js';
import { buildReport, findingSentence, formatP } from '../report/report.js';
import { evaluateFindings, type FindingResult } from '../study/findings.js';
import { measurementsFor, PROTOCOLS, regimeTrainOptions, TRAIN_STAGE, type StudyProtocol } from '../study/protocol.js';
import { parseRegimes, regimeSentence, regimeShard, regimeSubdir, REGIME_NAMES, STANDARD, type RegimeName } from '../study/regimes.js';
import { CLAIMS_DIR, RUNS_DIR, parseShard, planRuns, shardOf, type RunKey, type Shard } from '../sweep.js';
import { METRICS_FILE, RESULT_FILE } from '../train.js';
import { parseArgs, UsageError, type OptionSpec } from './args.js';

export const STUDY_FILE = 'study.json';
export const STUDY_CONFIG_FILE = 'study-config.json';
/** Per network: seconds each measurement took (training time comes from metrics.csv). */
export const TIMINGS_FILE = 'study-timings.json';

const studyOptions: Record<string, OptionSpec> = {
  out: { type: 'string', required: true, metavar: 'DIR', description: 'study directory: runs/alpha=A_seed=S/ (one network each, with every measurement), regimes/<regime>/runs/… for robust regimes, study.json, report.html' },
  regimes: { type: 'string', default: STANDARD, metavar: 'LIST', description: `training regimes, comma-separated from ${REGIME_NAMES.join(', ')} (the train options of each are listed above); every (regime, α, seed) network is trained and measured, and each robust regime is compared with standard on the same (α, seed)` },
  data: { type: 'string', choices: DATASET_NAMES, default: 'mnist', description: 'dataset; chooses the protocol (model, α grid, seeds, training and measurement settings; listed above)' },
  'data-dir': { type: 'string', metavar: 'DIR', description: 'CIFAR-10 binary directory or Tiny ImageNet root (not needed for mnist)' },
  alphas: { type: 'numbers', description: 'regularizer weights α (default: the protocol\'s grid)' },
  seeds: { type: 'numbers', integer: true, min: 0, description: 'seeds per α (default: the protocol\'s)' },
  epochs: { type: 'number', integer: true, min: 1, description: 'training epochs (default: the protocol\'s)' },
  'limit-train': { type: 'number', integer: true, min: 1, description: 'train on a fixed random subset of N images' },
  'limit-test': { type: 'number', integer: true, min: 1, description: 'test subset for accuracy and selectivity; a subset smaller than the protocol\'s test set scales the measurements\' image counts down in proportion' },
  'corruption-source': { type: 'string', metavar: 'DIR', description: 'published CIFAR-10-C / Tiny-ImageNet-C directory to evaluate corruptions from (default: generate them on the GPU)' },
  shard: { type: 'string', default: '0/1', metavar: 'i/n', description: 'networks k with k mod n = i (workers on other machines share DIR; e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)' },
  jobs: { type: 'number', integer: true, min: 1, default: 1, description: 'worker processes on this machine, each taking a share of this shard' },
  profile: { type: 'boolean', default: false, description: 'print the time spent in each stage (training and every measurement) over the networks' },
  finish: { type: 'boolean', default: true, description: 'once every network is done, test the findings and write study.json and report.html (--no-finish: leave that to another worker or a later run)' },
};

/** argv without the given options (as `--name value` or `--name=value`). */
function withoutOptions(argv: readonly string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([^=]+)/.exec(argv[i])?.[1];
    if (name && names.includes(name)) {
      if (!argv[i].includes('=')) i++;
      continue;
    }
    out.push(argv[i]);
  }
  return out;
}

function protocolHelp(): string {
  const lines = ['', '', 'Protocols (the defaults for each --data):'];
  for (const [name, p] of Object.entries(PROTOCOLS)) {
    lines.push(`  ${name}: ${p.summary}`);
    lines.push(`    α ${p.alphas.join(',')} × seeds ${p.seeds.join(',')}; train ${trainFlags(p.train).join(' ')}`);
    lines.push(`    corruptions: ${p.corruptions.corruptions} × severities ${p.corruptions.severities.join(',')} on ${p.corruptions.images} images; ${p.attacks.map((a) => `PGD-${a.steps} ${a.norm} ε ${a.eps} on ${a.images}`).join('; ')}`);
    lines.push(`    dimensionality: ${p.dimensionality.samples} images, ${p.dimensionality.corruptions} at severity ${p.dimensionality.severities.join(',')}, PGD ${p.dimensionality.norm} ε ${p.dimensionality.eps}; gradients: ${p.gradients.samples} images × ${p.gradients.units} units per layer`);
    lines.push(`    regimes: ${Object.entries(p.regimes).map(([name, flags]) => `${name} adds ${trainFlags(flags).join(' ')}`).join('; ')}`);
  }
  lines.push('', 'Paper scale:', '  cli study --data cifar10 --data-dir ~/data/cifar-10-batches-bin --corruption-source ~/data/CIFAR-10-C --out studies/r20 [--shard i/n]');
  lines.push('  cli study --data tinyimagenet --data-dir ~/data/tiny-imagenet-200 --corruption-source ~/data/Tiny-ImageNet-C --out studies/r18 [--shard i/n]');
  lines.push('', 'The findings (docs/method.md) are tested over all networks: Spearman ρ with a permutation p-value, paired', 'differences with the exact Wilcoxon signed-rank test, 95% bootstrap CIs resampling seeds within α.');
  lines.push('', 'With --regimes standard,adversarial,corruption-aug the findings stay those of the standard networks; each robust', 'regime is paired with standard on the same (α, seed) (exact Wilcoxon signed-rank and sign tests) for SI, early-layer', 'dimensionality, mCA and PGD L∞ AUC, in the report\'s section "Robust training vs selectivity" and in study.json.', 'Robust networks go to DIR/regimes/<regime>/runs/; an existing standard study gains regimes when run again with', '--regimes. Networks are numbered across regimes (standard first) for --shard; give every worker the same --regimes.');
  return lines.join('\n');
}

const trainFlags = (options: Record<string, string | number>) => Object.entries(options).flatMap(([k, v]) => [`--${k}`, String(v)]);

/** The protocol with this invocation's overrides applied; measurement sizes are capped by --limit-test. */
export function resolveProtocol(args: Record<string, unknown>): StudyProtocol {
  const base = PROTOCOLS[args.data as DatasetName];
  const int = (name: string, min: number) => {
    const v = args[name] as number | undefined;
    if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new UsageError(`study --${name}: expected an integer ≥ ${min}, got ${v}`);
    return v;
  };
  const epochs = int('epochs', 1);
  const limitTrain = int('limit-train', 1);
  const limitTest = int('limit-test', 2);
  int('jobs', 1);
  // Measurement sizes are set for the protocol's test set; a smaller --limit-test scales them down with it.
  const scale = limitTest === undefined ? 1 : Math.min(1, limitTest / base.testImages);
  const cap = (n: number) => Math.max(1, Math.round(n * scale));
  const train = { ...base.train };
  if (epochs !== undefined) train.epochs = epochs;
  if (limitTrain !== undefined) train['limit-train'] = limitTrain;
  if (limitTest !== undefined) train['limit-test'] = limitTest;
  const seeds = (args.seeds as number[] | undefined) ?? base.seeds;
  for (const s of seeds) if (!Number.isInteger(s) || s < 0) throw new UsageError(`study --seeds: ${s} is not a non-negative integer`);
  return {
    ...base,
    alphas: (args.alphas as number[] | undefined) ?? base.alphas,
    seeds,
    train,
    corruptions: { ...base.corruptions, images: cap(base.corruptions.images) },
    attacks: base.attacks.map((a) => ({ ...a, images: cap(a.images) })),
    dimensionality: { ...base.dimensionality, samples: Math.max(3, cap(base.dimensionality.samples)) },
    gradients: { ...base.gradients, samples: Math.max(2, cap(base.gradients.samples)) },
  };
}

async function runCommand(command: string, argv: string[]): Promise<void> {
  const load: Record<string, () => Promise<(argv: string[]) => Promise<void>>> = {
    sweep: async () => (await import('./sweep.js')).sweepCommand,
    'eval-corruptions': async () => (await import('./corruptions.js')).evalCorruptionsCommand,
    attack: async () => (await import('./attack.js')).attackCommand,
    dimensionality: async () => (await import('./dimensionality.js')).dimensionalityCommand,
    'gradient-variability': async () => (await import('./gradients.js')).gradientsCommand,
  };
  await (await load[command]())(argv);
}

async function readTimings(runDir: string): Promise<Record<string, number>> {
  const path = join(runDir, TIMINGS_FILE);
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return {};
  }
}

/** Training seconds of a run: the sum of its epochs' times in metrics.csv. */
function trainingSeconds(runDir: string): number | undefined {
  const path = join(runDir, METRICS_FILE);
  if (!existsSync(path)) return undefined;
  const [header, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const column = header.split(',').indexOf('seconds');
  return column < 0 ? undefined : rows.reduce((s, row) => s + Number(row.split(',')[column]), 0);
}

/** Seconds per stage summed over the networks that have finished it. */
export async function stageSeconds(dir: string, runNames: string[]): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const name of runNames) {
    const runDir = join(dir, RUNS_DIR, name);
    const train = trainingSeconds(runDir);
    if (train !== undefined) totals[TRAIN_STAGE] = (totals[TRAIN_STAGE] ?? 0) + train;
    for (const [stage, seconds] of Object.entries(await readTimings(runDir))) totals[stage] = (totals[stage] ?? 0) + seconds;
  }
  return totals;
}

function printStages(totals: Record<string, number>, networks: number): void {
  const all = Object.values(totals).reduce((a, b) => a + b, 0);
  console.log(`\ntime per stage over ${networks} networks (compute time, all workers):`);
  for (const [stage, s] of Object.entries(totals)) console.log(`  ${stage.padEnd(16)} ${formatDuration(s).padStart(8)}  ${((100 * s) / all).toFixed(0).padStart(3)}%   ${formatDuration(s / networks)} per network`);
  console.log(`  ${'total'.padEnd(16)} ${formatDuration(all).padStart(8)}`);
}

function verdictTable(findings: FindingResult[]): string {
  const rows = findings.map((f) => [f.id + (f.primary ? '' : ' *'), f.statistic === 'spearman' ? `ρ ${f.value === null ? '–' : f.value.toFixed(2)}` : `Δ ${f.value === null ? '–' : f.value.toFixed(2)}`, f.ci95.every((v) => v !== null) ? `[${f.ci95[0]!.toFixed(2)}, ${f.ci95[1]!.toFixed(2)}]` : '–', formatP(f.pValue), formatP(f.pHolm), String(f.n), f.verdict]);
  const head = ['finding', 'statistic', '95% CI', 'p', 'p Holm', 'n', 'verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), ...rows.map(line), '(* reported beside the primary findings; Holm covers the primary ones)'].join('\n');
}

interface MeasureContext {
  protocol: StudyProtocol;
  corruptionSource?: string;
  dataDir?: string;
  shard: Shard;
}

/** Runs every missing measurement of this shard's finished networks of one regime (its sweep directory), one worker per network. */
async function measureRegime(regime: RegimeName, regimeDir: string, mine: RunKey[], { protocol, corruptionSource, dataDir, shard }: MeasureContext): Promise<void> {
  for (const [i, run] of mine.entries()) {
    const tag = `[${i + 1}/${mine.length}] ${regime === STANDARD ? '' : `${regime}/`}${run.name}`;
    const runDir = join(regimeDir, RUNS_DIR, run.name);
    const checkpoint = join(runDir, 'model.safetensors');
    const todo = measurementsFor(checkpoint, { protocol, corruptionSource, dataDir }).filter((m) => !existsSync(join(runDir, m.file)));
    if (todo.length === 0) continue;
    if (!existsSync(join(runDir, RESULT_FILE))) {
      console.log(`${tag}: training not finished (another worker holds it), measurements left for later`);
      continue;
    }
    // One worker measures a network at a time, whatever the shards say.
    const attempt = await tryClaim(join(regimeDir, CLAIMS_DIR), `${run.name}.measure`, { note: `study shard ${shard.index}/${shard.count}` });
    if (!attempt.acquired) {
      console.log(`${tag}: measurements ${attempt.reason}, skipped`);
      continue;
    }
    try {
      for (const m of todo) {
        if (existsSync(join(runDir, m.file))) continue;
        if (attempt.claim.signal.aborted) throw attempt.claim.signal.reason;
        console.log(`\n${tag}: ${m.stage}`);
        const t0 = performance.now();
        await runCommand(m.command, m.argv);
        const timings = await readTimings(runDir);
        timings[m.stage] = (performance.now() - t0) / 1000;
        await writeFileAtomic(join(runDir, TIMINGS_FILE), JSON.stringify(timings, null, 2) + '\n');
      }
    } finally {
      await attempt.claim.release();
    }
  }
}

export async function studyCommand(argv: string[]): Promise<void> {
  const args = parseArgs('study', `Train every (α, seed) network, measure selectivity, corruption accuracy, PGD L∞/L2 robustness, dimensionality and gradient variability on each, then test the paper's findings with statistics (study.json, report.html).${protocolHelp()}`, studyOptions, argv);
  if (!args) return;
  let shard, regimes;
  try {
    shard = parseShard(args.shard as string);
    regimes = parseRegimes(args.regimes as string);
  } catch (e) {
    throw new UsageError(`study ${(e as Error).message}`);
  }
  const protocol = resolveProtocol(args);
  const dataset = args.data as DatasetName;
  if (dataset !== 'mnist' && !args['data-dir']) throw new UsageError(`study --data ${dataset}: give --data-dir (the published ${dataset === 'cifar10' ? 'CIFAR-10 binary directory' : 'Tiny ImageNet root'}; see \`cli download --help\`)`);
  const runs = (() => {
    try {
      return planRuns(protocol.alphas, protocol.seeds);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  })();
  const dir = resolve(args.out as string);
  const corruptionSource = args['corruption-source'] ? resolve(args['corruption-source'] as string) : undefined;
  const dataDir = args['data-dir'] ? resolve(args['data-dir'] as string) : undefined;
  // Every worker must measure the same way; the configuration is recorded once and checked after.
  // How each robust regime trains is recorded by its own sweep (DIR/regimes/<name>/sweep.json), so a
  // standard study can later gain regimes, and standard-only records stay as they were.
  const recorded = { data: dataset, protocol: { ...protocol, summary: undefined, regimes: undefined }, corruptionSource: corruptionSource ?? null };
  const configPath = join(dir, STUDY_CONFIG_FILE);
  // Created exclusively, so racing first workers cannot both write it; the others compare.
  if (!(await createFileExclusive(configPath, JSON.stringify({ study: recorded, created: new Date().toISOString() }, null, 2) + '\n'))) {
    let previous;
    try {
      previous = JSON.parse(await readFile(configPath, 'utf8')).study;
    } catch (e) {
      throw new UsageError(`${configPath} cannot be read as a study record (${(e as Error).message}); is ${dir} a study directory?`);
    }
    if (JSON.stringify(previous) !== JSON.stringify(JSON.parse(JSON.stringify(recorded)))) {
      throw new UsageError(`${dir} holds a study with a different configuration (${configPath}); use another --out, or the same settings`);
    }
  }
  const started = performance.now();
  const jobs = args.jobs as number;
  if (jobs > 1) {
    // Job j of K takes shard i + n·j of n·K: together they cover exactly this shard's networks.
    const children = Array.from({ length: jobs }, (_, j) => {
      const childArgs = [...withoutOptions(argv, ['jobs', 'shard', 'profile']), '--no-finish', '--shard', `${shard.index + shard.count * j}/${shard.count * jobs}`];
      const child = spawn(process.execPath, [process.argv[1], 'study', ...childArgs], { stdio: 'inherit' });
      return new Promise<number>((done) => child.on('exit', (code) => done(code ?? 1)));
    });
    const codes = await Promise.all(children);
    if (codes.some((c) => c !== 0)) throw new Error(`study: ${codes.filter((c) => c !== 0).length} of ${jobs} worker processes failed`);
  } else {
    const regimeText = regimes.length > 1 ? ` × regimes ${regimes.join(', ')}` : '';
    console.log(`study ${dir}: ${runs.length * regimes.length} networks (α ${protocol.alphas.join(', ')} × seeds ${protocol.seeds.join(', ')}${regimeText})`);
    for (const regime of regimes) {
      // Networks are numbered across regimes, standard first, so a standard-only study shards as it always has.
      const own = regimeShard(shard, regime, runs.length);
      const regimeDir = join(dir, regimeSubdir(regime));
      const extra = trainFlags(regimeTrainOptions(protocol, regime));
      if (regime !== STANDARD) console.log(`\nregime ${regime} (${extra.join(' ')}) → ${regimeDir}`);
      await runCommand('sweep', ['--data', dataset, ...(dataDir ? ['--data-dir', dataDir] : []), ...trainFlags(protocol.train), ...extra, '--alphas', protocol.alphas.join(','), '--seeds', protocol.seeds.join(','), '--shard', `${own.index}/${own.count}`, '--out', regimeDir]);
      await measureRegime(regime, regimeDir, shardOf(runs, own), { protocol, corruptionSource, dataDir, shard });
    }
  }
  if (!args.finish) return;
  await finishStudy(dir, runs.map((r) => r.name), { regimes, protocol, wallSeconds: (performance.now() - started) / 1000, profile: args.profile as boolean, stages: measurementsFor('', { protocol }).map((m) => m.file) });
}

interface FinishOptions {
  regimes: RegimeName[];
  protocol: StudyProtocol;
  wallSeconds: number;
  profile: boolean;
  stages: string[];
}

/** Writes study.json and report.html once every network has every measurement; says what is left otherwise. */
async function finishStudy(dir: string, runNames: string[], options: FinishOptions): Promise<void> {
  const { regimes } = options;
  const incomplete = regimes.flatMap((regime) => runNames.filter((name) => {
    const runDir = join(dir, regimeSubdir(regime), RUNS_DIR, name);
    return !existsSync(join(runDir, RESULT_FILE)) || options.stages.some((file) => !existsSync(join(runDir, file)));
  }).map((name) => (regime === STANDARD ? name : `${regime}/${name}`)));
  const totals: Record<string, number> = {};
  for (const regime of regimes) for (const [stage, s] of Object.entries(await stageSeconds(join(dir, regimeSubdir(regime)), runNames))) totals[stage] = (totals[stage] ?? 0) + s;
  const networks = runNames.length * regimes.length;
  if (options.profile) printStages(totals, networks - incomplete.length || 1);
  if (incomplete.length) {
    console.log(`\n${incomplete.length} of ${networks} networks are not finished (${incomplete.slice(0, 6).join(', ')}${incomplete.length > 6 ? ', …' : ''}); other shards may still be at work. Run the same command again to continue; the last worker to finish writes ${STUDY_FILE}.`);
    return;
  }
  const groups = (await collectRegimes(dir, regimes)).map((g) => ({ ...g, runs: g.runs.filter((r) => runNames.includes(r.name)) }));
  const chosen = groups.find((g) => g.regime === STANDARD)!.runs;
  // The paper's findings are those of the standard networks; robust regimes are compared with them.
  const findings = evaluateFindings(chosen);
  const comparison = regimes.length > 1 ? regimeReport(groups, { trainFlags: Object.fromEntries(regimes.map((r) => [r, regimeTrainOptions(options.protocol, r)])) }) : undefined;
  const study = {
    findings,
    runs: chosen.length,
    alphas: [...new Set(chosen.map((r) => r.alpha))].sort((a, b) => a - b),
    seeds: [...new Set(chosen.map((r) => r.seed))].sort((a, b) => a - b),
    ...(comparison ? { regimes: comparison.record } : {}),
    wallSeconds: options.wallSeconds,
    computeSeconds: Object.values(totals).reduce((a, b) => a + b, 0),
    stageSeconds: totals,
    generated: new Date().toISOString(),
  };
  const { html } = buildReport(chosen, { title: 'Class selectivity vs average- and worst-case robustness: study', source: dir, generated: study.generated, sections: comparison ? [comparison.section] : undefined }, findings);
  await writeFileAtomic(join(dir, 'report.html'), html);
  await writeFileAtomic(join(dir, STUDY_FILE), JSON.stringify(study, null, 2) + '\n');
  console.log(`\n${verdictTable(findings)}\n`);
  for (const f of findings.filter((f) => f.primary)) console.log(`${f.claim}\n  ${findingSentence(f)}`);
  if (comparison) {
    console.log('\nRobust training vs selectivity (each robust network against the standard one of the same α and seed):');
    for (const c of comparison.record.comparisons.filter((c) => c.primary)) console.log(`${c.question}\n  ${regimeSentence(c)}`);
  }
  console.log(`\n${networks} networks; ${formatDuration(options.wallSeconds)} this invocation → ${join(dir, STUDY_FILE)}, ${join(dir, 'report.html')}`);
}
