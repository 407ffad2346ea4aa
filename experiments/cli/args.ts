// A small, strict command-line parser: --name value / --name=value / --flag / --no-flag, with
// --help generated from the option specs. Unknown options and malformed values are errors that name
// the option and what was expected.

export interface OptionSpec {
  type: 'string' | 'number' | 'boolean' | 'numbers' | 'strings';
  description: string;
  default?: string | number | boolean | number[] | string[];
  required?: boolean;
  choices?: readonly string[];
  /** Placeholder shown in --help (e.g. DIR). */
  metavar?: string;
}

export type ParsedArgs = Record<string, string | number | boolean | number[] | string[] | undefined> & { _: string[] };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses a number, accepting fractions like 8/255 (ε values) and scientific notation. */
export function parseNumber(text: string, what: string): number {
  const trimmed = text.trim();
  const fraction = /^([-+]?[\d.]+(?:e[-+]?\d+)?)\/([\d.]+(?:e[-+]?\d+)?)$/i.exec(trimmed);
  const value = fraction ? Number(fraction[1]) / Number(fraction[2]) : trimmed === '' ? NaN : Number(trimmed);
  if (!Number.isFinite(value)) throw new UsageError(`${what}: '${text}' is not a number (examples: 0.1, -30, 1e-3, 8/255)`);
  return value;
}

export function helpText(command: string, summary: string, specs: Record<string, OptionSpec>): string {
  const lines = [`Usage: ${command} [options]`, '', summary, '', 'Options:'];
  for (const [name, spec] of Object.entries(specs)) {
    const flag = spec.type === 'boolean' ? `--${name}` : `--${name} ${spec.metavar ?? (spec.type === 'number' ? 'N' : spec.type === 'numbers' ? 'N,N,…' : 'VALUE')}`;
    const extras = [spec.choices ? `one of ${spec.choices.join('|')}` : '', spec.required ? 'required' : spec.default !== undefined && spec.default !== '' ? `default ${Array.isArray(spec.default) ? spec.default.join(',') : spec.default}` : ''].filter(Boolean).join('; ');
    lines.push(`  ${flag.padEnd(30)} ${spec.description}${extras ? ` (${extras})` : ''}`);
  }
  lines.push(`  ${'--help'.padEnd(30)} show this help`);
  return lines.join('\n');
}

/** Returns the parsed options, or null after printing --help. */
export function parseArgs(command: string, summary: string, specs: Record<string, OptionSpec>, argv: readonly string[]): ParsedArgs | null {
  const out: ParsedArgs = { _: [] };
  for (const [name, spec] of Object.entries(specs)) if (spec.default !== undefined) out[name] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(helpText(command, summary, specs));
      return null;
    }
    if (!arg.startsWith('--')) {
      out._.push(arg);
      continue;
    }
    let [name, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let negated = false;
    if (!(name in specs) && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean') {
      name = name.slice(3);
      negated = true;
    }
    const spec = specs[name];
    if (!spec) throw new UsageError(`${command}: unknown option --${name}; valid options: ${Object.keys(specs).map((k) => `--${k}`).join(', ')}`);
    if (spec.type === 'boolean') {
      out[name] = negated ? false : inline === undefined ? true : !/^(false|0|no)$/i.test(inline);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${command}: --${name} needs a value (${spec.description})`);
    out[name] = convert(command, name, spec, value);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && out[name] === undefined) throw new UsageError(`${command}: --${name} is required (${spec.description})`);
  }
  return out;
}

function convert(command: string, name: string, spec: OptionSpec, value: string): string | number | number[] | string[] {
  const what = `${command} --${name}`;
  switch (spec.type) {
    case 'number':
      return parseNumber(value, what);
    case 'numbers':
      return value.split(',').filter((v) => v.trim() !== '').map((v) => parseNumber(v, what));
    case 'strings': {
      const items = value.split(',').map((v) => v.trim()).filter(Boolean);
      if (spec.choices) for (const item of items) checkChoice(what, spec.choices, item);
      return items;
    }
    default:
      if (spec.choices) checkChoice(what, spec.choices, value);
      return value;
  }
}

function checkChoice(what: string, choices: readonly string[], value: string): void {
  if (!choices.includes(value)) throw new UsageError(`${what}: '${value}' is not one of ${choices.join(', ')}`);
}
