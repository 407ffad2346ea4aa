// The robust-training settings (docs/robust-training.md): `--adversarial` specs (PGD-AT, FGSM-RS)
// and `--augment-corruptions` specs, parsed into the objects config.json records. Every mistake is
// an error naming the flag, the part of the spec at fault and what was expected.
import { parseNumberText } from '../cli/number.js';
import { BENCHMARK_CORRUPTIONS, CORRUPTION_NAMES, type CorruptionName } from '../corruptions/types.js';

export type AdversarialMethod = 'pgd' | 'fgsm-rs';
export type AdversarialNorm = 'linf' | 'l2';

/** How the training examples are made adversarial; recorded in config.json as `adversarial`. */
export interface AdversarialConfig {
  method: AdversarialMethod;
  norm: AdversarialNorm;
  /** Radius of the threat model in [0, 1] pixel units. */
  eps: number;
  /** Gradient steps per example (FGSM-RS: 1). */
  steps: number;
  /** Step size at the full ε (during the warm-up it shrinks with ε: the ratio stepSize/ε is kept). */
  stepSize: number;
  /** ε ramps linearly from 0 to eps over this many epochs, per step (0: full ε from the start). */
  warmupEpochs: number;
}

/** Corruption augmentation; recorded in config.json as `augmentCorruptions`. */
export interface AugmentCorruptionsConfig {
  corruptions: CorruptionName[];
  /** Probability that a training sample is corrupted. */
  p: number;
}

/** The 4 corruptions outside the 15-corruption benchmark (Hendrycks & Dietterich 2019, appendix). */
export const EXTRA_CORRUPTIONS: readonly CorruptionName[] = CORRUPTION_NAMES.filter((n) => !BENCHMARK_CORRUPTIONS.includes(n));
export const DEFAULT_PGD_STEPS = 7;
/** Madry et al.'s rule: a step of 2.5·ε/K lets K steps cross the ball and come back. */
export const PGD_STEP_FACTOR = 2.5;
/** Wong et al. (2020): FGSM from a random start steps by 1.25·ε. */
export const FGSM_RS_STEP_FACTOR = 1.25;
export const DEFAULT_CORRUPTION_P = 0.5;

export const ADVERSARIAL_SPEC_HELP = 'pgd:linf:EPS[:steps=K][:step=S] | fgsm-rs:linf:EPS | pgd:l2:EPS[:steps=K][:step=S]';
export const AUGMENT_SPEC_HELP = 'SET[:p=P], SET a comma list of corruption names or "extra"';

/** Parses `key=value` options after the fixed fields, refusing unknown or repeated keys. */
function options(flag: string, spec: string, parts: string[], allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of parts) {
    const m = /^([a-z]+)=(.*)$/.exec(part.trim());
    if (!m) throw new Error(`${flag}: '${part}' in '${spec}' is not an option of the form key=value (${allowed.length ? `keys: ${allowed.join(', ')}` : 'this method takes none'})`);
    if (!allowed.includes(m[1])) throw new Error(`${flag}: unknown option '${m[1]}' in '${spec}' (${allowed.length ? `expected ${allowed.join(' or ')}` : 'this method takes none'})`);
    if (out.has(m[1])) throw new Error(`${flag}: option '${m[1]}' is given twice in '${spec}'`);
    out.set(m[1], m[2]);
  }
  return out;
}

function positiveNumber(flag: string, what: string, text: string): number {
  const value = parseNumberText(text, `${flag} ${what}`);
  if (!(value > 0)) throw new Error(`${flag} ${what}: must be > 0, got ${text}`);
  return value;
}

/** Parses an --adversarial spec; warmupEpochs comes from --adversarial-warmup. */
export function parseAdversarialSpec(spec: string, warmupEpochs = 0, flag = '--adversarial'): AdversarialConfig {
  const [method, norm, epsText, ...rest] = spec.trim().split(':');
  if (method !== 'pgd' && method !== 'fgsm-rs') throw new Error(`${flag}: unknown method '${method}' in '${spec}'; expected ${ADVERSARIAL_SPEC_HELP}`);
  if (norm !== 'linf' && norm !== 'l2') throw new Error(`${flag}: ${norm === undefined ? 'missing norm' : `unknown norm '${norm}'`} in '${spec}'; expected linf or l2 (${ADVERSARIAL_SPEC_HELP})`);
  if (method === 'fgsm-rs' && norm !== 'linf') throw new Error(`${flag}: fgsm-rs is the L∞ method of Wong et al. (2020); use pgd:l2:EPS for an L2 threat model`);
  if (epsText === undefined || epsText.trim() === '') throw new Error(`${flag}: missing ε in '${spec}'; expected ${ADVERSARIAL_SPEC_HELP} (e.g. pgd:linf:8/255)`);
  const eps = positiveNumber(flag, 'ε', epsText);
  if (norm === 'linf' && eps > 1) throw new Error(`${flag} ε: an L∞ radius above 1 exceeds the [0, 1] pixel range, got ${epsText}`);
  const opts = options(flag, spec, rest, method === 'pgd' ? ['steps', 'step'] : []);
  let steps = 1;
  if (method === 'pgd') {
    const stepsText = opts.get('steps');
    steps = stepsText === undefined ? DEFAULT_PGD_STEPS : Number(stepsText);
    if (!Number.isSafeInteger(steps) || steps < 1) throw new Error(`${flag} steps: expected an integer ≥ 1, got '${stepsText}'`);
  }
  const stepText = opts.get('step');
  const stepSize = stepText !== undefined ? positiveNumber(flag, 'step', stepText) : method === 'pgd' ? (PGD_STEP_FACTOR * eps) / steps : FGSM_RS_STEP_FACTOR * eps;
  return { method, norm, eps, steps, stepSize, warmupEpochs: checkWarmup(warmupEpochs, flag) };
}

function checkWarmup(warmupEpochs: number, flag: string): number {
  if (!Number.isSafeInteger(warmupEpochs) || warmupEpochs < 0) throw new Error(`${flag}-warmup: expected an integer ≥ 0, got ${warmupEpochs}`);
  return warmupEpochs;
}

/** Parses an --augment-corruptions spec: `extra`, `fog,snow`, `extra,fog:p=0.3`, `:p=0.3` (the extras). */
export function parseAugmentSpec(spec: string, flag = '--augment-corruptions'): AugmentCorruptionsConfig {
  const [setText, ...rest] = spec.trim().split(':');
  const opts = options(flag, spec, rest, ['p']);
  const names = setText.trim() === '' ? ['extra'] : setText.split(',').map((s) => s.trim());
  const corruptions = new Set<CorruptionName>();
  for (const name of names) {
    if (name === '') throw new Error(`${flag}: '${setText}' has an empty item; separate corruption names with single commas`);
    if (name === 'extra') EXTRA_CORRUPTIONS.forEach((c) => corruptions.add(c));
    else if ((CORRUPTION_NAMES as readonly string[]).includes(name)) corruptions.add(name as CorruptionName);
    else throw new Error(`${flag}: unknown corruption '${name}'; expected "extra" or names from ${CORRUPTION_NAMES.join(', ')}`);
  }
  const pText = opts.get('p');
  const p = pText === undefined ? DEFAULT_CORRUPTION_P : positiveNumber(flag, 'p', pText);
  if (p > 1) throw new Error(`${flag} p: a probability must be in (0, 1], got ${pText}`);
  // Canonical order, so equal sets record (and compare on resume) equally.
  return { corruptions: CORRUPTION_NAMES.filter((n) => corruptions.has(n)), p };
}

/** The benchmark corruptions a run sees in training (they are then no longer held out). */
export function trainedOnCorruptions(augment: AugmentCorruptionsConfig | null | undefined): CorruptionName[] {
  return augment ? augment.corruptions.filter((c) => BENCHMARK_CORRUPTIONS.includes(c)) : [];
}

/** ε at a fractional epoch: linear from 0 to eps over the warm-up, then eps. */
export function adversarialEps(config: AdversarialConfig, epochProgress: number): number {
  if (config.warmupEpochs === 0 || epochProgress >= config.warmupEpochs) return config.eps;
  return (config.eps * Math.max(0, epochProgress)) / config.warmupEpochs;
}

/** A one-line description for logs and the page ("PGD-7 L∞ ε=0.3, step 0.107"). */
export function describeAdversarial(c: AdversarialConfig): string {
  const norm = c.norm === 'linf' ? 'L∞' : 'L2';
  const name = c.method === 'pgd' ? `PGD-${c.steps}` : 'FGSM-RS';
  const warm = c.warmupEpochs ? `, warm-up ${c.warmupEpochs} epoch${c.warmupEpochs === 1 ? '' : 's'}` : '';
  return `${name} ${norm} ε=${Number(c.eps.toPrecision(4))}, step ${Number(c.stepSize.toPrecision(4))}${warm}`;
}
