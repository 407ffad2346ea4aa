// Command-line parsing: node:util.parseArgs (strict) does the tokenizing; on top of it sit the
// project's --help text, value parsing (numbers, fractions like 8/255, lists, choices) and the
// constraints each option declares (integer, min, max). Everything a user can get wrong is an
// error naming the option and what was expected:
//   - an unknown option, or a positional argument the command does not take;
//   - a missing value, or a value that is itself an option (`--out --resume`; a value starting
//     with '-' is written `--out=-x`, except negative numbers: `--alpha -1` works);
//   - an empty value (`--out=`), unless the option allows one;
//   - an option given twice (including `--flip --no-flip`);
//   - a value on a switch (`--flip=off`): switches take no value; `--flip` / `--no-flip`;
//   - a number that is not one, not an integer where one is required, or outside [min, max].
import { parseArgs as tokenize } from 'node:util';
import { parseNumberText } from './number.js';

export interface OptionSpec {
  type: 'string' | 'number' | 'boolean' | 'numbers' | 'strings';
  description: string;
  default?: string | number | boolean | number[] | string[];
  required?: boolean;
  choices?: readonly string[];
  /** Placeholder shown in --help (e.g. DIR). */
  metavar?: string;
  /** number / numbers: every value must be an integer. */
  integer?: boolean;
  /** number / numbers: inclusive bounds of every value. */
  min?: number;
  max?: number;
  /** string / numbers / strings: an empty value is meaningful (e.g. an empty list); otherwise an error. */
  allowEmpty?: boolean;
}

export interface CommandShape {
  /** Names of the positional arguments the command takes, in order (shown in --help); default none. */
  positionals?: readonly string[];
}

export type ParsedArgs = Record<string, string | number | boolean | number[] | string[] | undefined> & { _: string[] };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Runs `fn`, turning any error it throws into a UsageError prefixed with `what` (when given). */
export function asUsageError<T>(what: string | null, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof UsageError ? e : new UsageError(what ? `${what}: ${(e as Error).message}` : (e as Error).message);
  }
}

/** Parses a number, accepting fractions like 8/255 (ε values) and scientific notation. */
export function parseNumber(text: string, what: string): number {
  return asUsageError(null, () => parseNumberText(text, what));
}

/** "an integer ≥ 1", "a number in [0, 1]", … : what a numeric option accepts. */
export function describeConstraint(spec: Pick<OptionSpec, 'integer' | 'min' | 'max'>): string {
  const kind = spec.integer ? 'an integer' : 'a number';
  if (spec.min !== undefined && spec.max !== undefined) return `${kind} from ${spec.min} to ${spec.max}`;
  if (spec.min !== undefined) return `${kind} ≥ ${spec.min}`;
  if (spec.max !== undefined) return `${kind} ≤ ${spec.max}`;
  return kind;
}

/** Checks a value against an option's integer/min/max constraints. */
export function checkNumber(what: string, spec: Pick<OptionSpec, 'integer' | 'min' | 'max'>, value: number): number {
  const ok = (!spec.integer || Number.isSafeInteger(value)) && (spec.min === undefined || value >= spec.min) && (spec.max === undefined || value <= spec.max);
  if (!ok) throw new UsageError(`${what}: expected ${describeConstraint(spec)}, got ${value}`);
  return value;
}

export function helpText(command: string, summary: string, specs: Record<string, OptionSpec>, shape: CommandShape = {}): string {
  const positionals = (shape.positionals ?? []).map((p) => ` ${p}`).join('');
  const lines = [`Usage: ${command} [options]${positionals}`, '', summary, '', 'Options:'];
  for (const [name, spec] of Object.entries(specs)) {
    const flag = spec.type === 'boolean' ? `--${name}` : `--${name} ${spec.metavar ?? (spec.type === 'number' ? 'N' : spec.type === 'numbers' ? 'N,N,…' : 'VALUE')}`;
    const numeric = spec.type === 'number' || spec.type === 'numbers';
    const constraint = numeric && (spec.integer || spec.min !== undefined || spec.max !== undefined) ? describeConstraint(spec) : '';
    const fallback = spec.required ? 'required' : spec.default !== undefined && spec.default !== '' ? `default ${Array.isArray(spec.default) ? spec.default.join(',') : spec.default}` : '';
    const extras = [spec.choices ? `one of ${spec.choices.join('|')}` : '', constraint, fallback].filter(Boolean).join('; ');
    lines.push(`  ${flag.padEnd(30)} ${spec.description}${extras ? ` (${extras})` : ''}`);
  }
  lines.push(`  ${'--help'.padEnd(30)} show this help`);
  return lines.join('\n');
}

const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/** The option named in one of node:util.parseArgs's error messages ('--out', '-x'), if any. */
function optionIn(message: string): string | undefined {
  return /'(-{1,2}[^'\s=<]+)/.exec(message)?.[1];
}

/** Returns the parsed options, or null after printing --help. */
export function parseArgs(command: string, summary: string, specs: Record<string, OptionSpec>, argv: readonly string[], shape: CommandShape = {}): ParsedArgs | null {
  const terminator = argv.indexOf('--');
  const flags = terminator < 0 ? argv : argv.slice(0, terminator);
  if (flags.includes('--help') || flags.includes('-h')) {
    console.log(helpText(command, summary, specs, shape));
    return null;
  }
  const valid = () => Object.keys(specs).map((k) => `--${k}`).join(', ');
  // Switches are declared with their --no- form; negative numbers are glued to their option so the
  // strict tokenizer does not take `-1` for an option.
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string' };
    if (spec.type === 'boolean' && !specs[`no-${name}`]) options[`no-${name}`] = { type: 'boolean' };
  }
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const spec = i < flags.length && arg.startsWith('--') && !arg.includes('=') ? specs[arg.slice(2)] : undefined;
    if (spec && (spec.type === 'number' || spec.type === 'numbers') && NEGATIVE_NUMBER.test(argv[i + 1] ?? '')) args.push(`${arg}=${argv[++i]}`);
    else args.push(arg);
  }
  let tokens;
  try {
    tokens = tokenize({ args, options, strict: true, allowPositionals: true, tokens: true }).tokens;
  } catch (e) {
    const error = e as Error & { code?: string };
    const flag = optionIn(error.message);
    const name = flag?.replace(/^-+/, '');
    switch (error.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        throw new UsageError(`${command}: unknown option ${flag ?? ''}; valid options: ${valid()}`);
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
        if (name && options[name]?.type === 'boolean') {
          const base = specs[name] ? name : name.slice(3);
          throw new UsageError(`${command} ${flag}: a switch takes no value; write --${base} or --no-${base}`);
        }
        if (/ambiguous/.test(error.message)) throw new UsageError(`${command} ${flag}: needs a value, but the next argument is an option; write a value that starts with '-' as ${flag}=-…`);
        const spec = name ? specs[name] : undefined;
        throw new UsageError(`${command} ${flag}: needs a value${spec ? ` (${spec.description})` : ''}`);
      }
      default:
        throw new UsageError(`${command}: ${error.message.split('\n')[0]}`);
    }
  }
  const out: ParsedArgs = { _: [] };
  const given = new Map<string, string>();
  for (const token of tokens) {
    if (token.kind === 'positional') {
      out._.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const negated = !specs[token.name] && token.name.startsWith('no-');
    const name = negated ? token.name.slice(3) : token.name;
    const previous = given.get(name);
    if (previous !== undefined) throw new UsageError(`${command}: --${name} is given twice${previous === token.rawName ? '' : ` (${previous} and ${token.rawName})`}; give it once`);
    given.set(name, token.rawName);
    const spec = specs[name];
    out[name] = spec.type === 'boolean' ? !negated : convert(command, name, spec, token.value ?? '');
  }
  const allowed = shape.positionals ?? [];
  if (out._.length > allowed.length) {
    const extra = out._.slice(allowed.length).map((a) => `'${a}'`).join(' ');
    throw new UsageError(allowed.length ? `${command}: unexpected argument ${extra}; usage: ${command} [options] ${allowed.join(' ')}` : `${command}: unexpected argument ${extra}; this command takes only options (see ${command} --help)`);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (out[name] !== undefined) continue;
    if (spec.required) throw new UsageError(`${command}: --${name} is required (${spec.description})`);
    if (spec.default !== undefined) out[name] = spec.default;
  }
  return out;
}

function convert(command: string, name: string, spec: OptionSpec, value: string): string | number | number[] | string[] {
  const what = `${command} --${name}`;
  if (value.trim() === '' && !spec.allowEmpty) throw new UsageError(`${what}: the value is empty (${spec.description})`);
  switch (spec.type) {
    case 'number':
      return checkNumber(what, spec, parseNumber(value, what));
    case 'numbers':
      return listItems(what, value).map((v) => checkNumber(what, spec, parseNumber(v, what)));
    case 'strings': {
      const items = listItems(what, value);
      if (spec.choices) for (const item of items) checkChoice(what, spec.choices, item);
      return items;
    }
    default:
      if (spec.choices) checkChoice(what, spec.choices, value);
      return value;
  }
}

/** The items of a comma-separated list; an empty item (`1,,2`, `1,`) is an error. */
function listItems(what: string, value: string): string[] {
  if (value.trim() === '') return [];
  const items = value.split(',').map((v) => v.trim());
  if (items.some((v) => v === '')) throw new UsageError(`${what}: '${value}' has an empty item; separate values with single commas`);
  return items;
}

function checkChoice(what: string, choices: readonly string[], value: string): void {
  if (!choices.includes(value)) throw new UsageError(`${what}: '${value}' is not one of ${choices.join(', ')}`);
}
