// `attack`: robust accuracy of a checkpoint under PGD or FGSM (L∞ or L2) over an ε grid. Writes, by
// default into the checkpoint's run directory (where a sweep's runs live):
//   attack-<norm>.csv            eps,accuracy,n
//   attack-<norm>.svg            accuracy vs ε
//   attack-<norm>-examples.svg   clean / perturbation / adversarial triples at the largest ε
//   attack-<norm>.json           settings, points, clean accuracy, area under the curve
// as one set (io/atomic.ts writeFilesAtomic): the JSON, which merge and report read, appears last.
// FGSM runs use the prefix attack-fgsm-<norm> so they never overwrite the PGD results.
import { basename, dirname, join } from 'node:path';
import { gpu } from '../../engine/device.js';
import { ATTACK_NORMS, AttackConfigError, DEFAULT_STEPS, defaultStepSize, describeStepSize, resolveAttack, robustnessCurve, type AttackNorm, type RobustnessCurve, type StepSizeRule } from '../attacks.js';
import { writeFilesAtomic, type PendingFile } from '../io/atomic.js';
import { resultJson } from '../io/result-json.js';
import { encodePngCompressed } from '../io/png-node.js';
import { ProgressBar } from '../progress.js';
import { accuracyChart, attackTitle, examplesSvg } from '../report/attack.js';
import { packageVersion } from '../version.js';
import { parseArgs, parseNumber, UsageError, type OptionSpec } from './args.js';
import { checkpointOptions, instantiate, openTestData, readCheckpoint } from './common.js';

export const DEFAULT_EPS: Record<AttackNorm, string> = { linf: '0,0.5/255,1/255,2/255,4/255,8/255', l2: '0,0.05,0.1,0.25,0.5,1' };

const { 'batch-size': _batch, 'limit-test': _limit, ...loading } = checkpointOptions;

export const attackOptions: Record<string, OptionSpec> = {
  ...loading,
  norm: { type: 'string', choices: ATTACK_NORMS, default: 'linf', description: 'threat model: an L∞ or L2 ball around each test image, in [0, 1] pixel units' },
  eps: { type: 'numbers', metavar: 'E,E,…', description: `ε grid; fractions allowed (default ${DEFAULT_EPS.linf} for linf, ${DEFAULT_EPS.l2} for l2)` },
  steps: { type: 'number', integer: true, min: 1, default: DEFAULT_STEPS, description: 'PGD iterations' },
  'step-size': { type: 'string', metavar: 'S', description: 'step per iteration: absolute (0.5/255) or relative to ε (eps/4, 0.1*eps) (default eps/4 for linf, 2.5*eps/steps for l2)' },
  restarts: { type: 'number', integer: true, min: 1, default: 1, description: 'PGD runs per image; an image counts as robust only if every run fails' },
  'random-start': { type: 'boolean', default: true, description: 'start each run at a uniform random point of the ε-ball (--no-random-start: at the clean image)' },
  'skip-broken': { type: 'boolean', default: true, description: 'attack at each ε only the images no smaller ε (nor the clean image) broke: a broken image stays broken in every larger ball (--no-skip-broken: attack every image at every ε on its own)' },
  fgsm: { type: 'boolean', default: false, description: 'FGSM instead of PGD: one step of size ε from the clean image (L2: along the normalised gradient; no restarts or random start); writes attack-fgsm-<norm>.*' },
  limit: { type: 'number', integer: true, min: 1, metavar: 'N', description: 'attack a fixed random subset of N test images' },
  'batch-size': { type: 'number', integer: true, min: 1, default: 128, description: 'images attacked at once' },
  seed: { type: 'number', integer: true, min: 0, default: 0, description: 'seed of the random starts' },
  examples: { type: 'number', integer: true, min: 0, default: 8, description: 'clean/perturbation/adversarial triples to draw at the largest ε (0: none)' },
  out: { type: 'string', metavar: 'DIR', description: 'output directory (default: beside the checkpoint)' },
};

const FLAG: Record<AttackConfigError['field'], string> = { norm: 'norm', eps: 'eps', steps: 'steps', stepSize: 'step-size', restarts: 'restarts' };

/** "0.01", "1/255" (absolute) or "eps/4", "0.25*eps", "0.25eps", "eps" (relative to ε). */
export function parseStepSize(text: string): StepSizeRule {
  const what = 'attack --step-size';
  const t = text.trim().replace(/ε/g, 'eps');
  const over = /^eps\s*\/\s*(.+)$/i.exec(t);
  if (over) return { kind: 'relative', factor: 1 / parseNumber(over[1], what) };
  const times = /^(.*?)\s*\*?\s*eps$/i.exec(t);
  if (times) return { kind: 'relative', factor: times[1] === '' ? 1 : parseNumber(times[1], what) };
  return { kind: 'absolute', value: parseNumber(t, what) };
}

export function curveCsv(curve: RobustnessCurve): string {
  return ['eps,accuracy,n', ...curve.points.map((p) => `${p.eps},${p.accuracy},${p.n}`)].join('\n') + '\n';
}

export async function attackCommand(argv: string[]): Promise<void> {
  const args = parseArgs('attack', 'Robust accuracy under white-box PGD / FGSM attacks (docs/method.md §7): eval mode, [0, 1] pixel space, projection onto the ε-ball and [0, 1] after every step.', attackOptions, argv);
  if (!args) return;
  const norm = args.norm as AttackNorm;
  const grid = (args.eps as number[] | undefined) ?? DEFAULT_EPS[norm].split(',').map((v) => parseNumber(v, 'attack --eps'));
  if (grid.length === 0) throw new UsageError('attack --eps: give at least one ε');
  const eps = [...new Set(grid)].sort((a, b) => a - b);
  const steps = args.steps as number;
  const stepSize = args['step-size'] === undefined ? undefined : parseStepSize(args['step-size'] as string);
  const settings = { norm, steps, stepSize, restarts: args.restarts as number, randomStart: args['random-start'] as boolean, fgsm: args.fgsm as boolean, skipBroken: args['skip-broken'] as boolean };
  try {
    for (const e of eps) resolveAttack({ ...settings, eps: e });
  } catch (error) {
    if (error instanceof AttackConfigError) throw new UsageError(`attack --${FLAG[error.field]}: ${error.message}`);
    throw error;
  }
  const batchSize = args['batch-size'] as number;
  const limit = args.limit as number | undefined;
  const examples = args.examples as number;
  const seed = args.seed as number;

  const checkpoint = await readCheckpoint(args.checkpoint as string, args);
  const data = await openTestData(checkpoint, { ...args, 'limit-test': limit });
  const loaded = await instantiate(checkpoint);
  const bar = new ProgressBar('attack');
  const curve = await robustnessCurve(loaded.model, data.test, { ...settings, eps, batchSize, seed, examples, onBatch: (done, total) => bar.update(done, total) });
  bar.done();

  const dir = (args.out as string | undefined) ?? dirname(args.checkpoint as string);
  const prefix = settings.fgsm ? `attack-fgsm-${norm}` : `attack-${norm}`;
  const attack = curve.attacks[0];
  const record = {
    checkpoint: args.checkpoint,
    data: loaded.dataset,
    testSplit: data.testSplit,
    model: loaded.config.model,
    alpha: loaded.config.alpha ?? null,
    trainSeed: loaded.config.seed ?? null,
    attack: {
      method: attack.method,
      norm,
      steps: attack.steps,
      stepSize: attack.method === 'fgsm' ? 'ε' : describeStepSize(stepSize ?? defaultStepSize(norm, steps)),
      restarts: attack.restarts,
      randomStart: attack.randomStart,
      seed,
      loss: 'cross-entropy of the true label',
      mode: 'eval (batch-norm running statistics)',
      space: '[0, 1] pixels; every step projects onto the ε-ball, then clamps to [0, 1]',
      skipBroken: settings.skipBroken,
      robust: settings.skipBroken
        ? 'correct at the clean image and at the end of every restart at this ε and at every smaller ε of the grid (an image broken at a smaller ε is not attacked again: the example that broke it lies in every larger ball)'
        : 'correct at the clean image and at the end of every restart at this ε',
    },
    samples: curve.samples,
    cleanAccuracy: curve.cleanAccuracy,
    points: curve.points,
    auc: curve.auc,
    aucNormalized: curve.aucNormalized,
    epsRange: [eps[0], eps[eps.length - 1]],
    aucDefinition: 'trapezoid rule over the ε grid sorted ascending: auc = Σ_k (ε_{k+1} − ε_k)·(acc_k + acc_{k+1})/2 (units of ε); aucNormalized = auc / (ε_max − ε_min), the mean accuracy over [ε_min, ε_max] with linear interpolation (the accuracy itself for a one-point grid)',
    seconds: curve.seconds,
    adapter: gpu().info.description,
    version: packageVersion(),
    created: new Date().toISOString(),
  };
  const title = `${attackTitle(curve)} on ${loaded.config.model} (${loaded.dataset}${loaded.config.alpha !== undefined ? `, α = ${loaded.config.alpha}` : ''})`;
  // Written as a set, the JSON (what merge and report read) last.
  const files: PendingFile[] = [
    { path: join(dir, `${prefix}.csv`), data: curveCsv(curve) },
    { path: join(dir, `${prefix}.svg`), data: accuracyChart(curve, title) },
  ];
  if (curve.examples) {
    const epsText = norm === 'linf' ? `${Number((curve.examples.eps * 255).toPrecision(4))}/255` : String(curve.examples.eps);
    files.push({ path: join(dir, `${prefix}-examples.svg`), data: examplesSvg(curve.examples, `${title}, ε = ${epsText}`, encodePngCompressed) });
  }
  files.push({ path: join(dir, `${prefix}.json`), data: resultJson(record, `attack ${prefix}.json`, 2) });
  await writeFilesAtomic(files);
  const written = files.map((f) => basename(f.path));
  const epsLabel = (e: number) => (norm === 'linf' ? `${Number((e * 255).toPrecision(4))}/255` : String(e));
  console.log(`${attackTitle(curve)}, step ${record.attack.stepSize}, ${curve.samples} images, clean accuracy ${(100 * curve.cleanAccuracy).toFixed(2)}%`);
  for (const p of curve.points) console.log(`  ε ${epsLabel(p.eps).padEnd(10)} accuracy ${(100 * p.accuracy).toFixed(2).padStart(6)}%`);
  console.log(`AUC ${curve.auc.toPrecision(4)} (normalised ${curve.aucNormalized.toFixed(4)}) in ${curve.seconds.toFixed(1)} s → ${dir}/{${written.join(',')}}`);
  loaded.model.dispose();
}
