// The comparison every kernel case makes: GPU output against a CPU reference under an error bound.
// A `Checker` runs the comparisons of one case, throws at the first failure (the message names the
// worst element) and keeps every output, so two runs of the same case (Node and a browser page) can
// be compared with the same bounds.

/** Allowed |actual − expected|: one number, or one per element. */
export type Bound = number | ((i: number) => number);

export interface CheckedOutput {
  label: string;
  actual: Float64Array;
  expected: Float64Array;
  bound: Bound;
}

export function boundAt(bound: Bound, i: number): number {
  return typeof bound === 'number' ? bound : bound(i);
}

/** Why |actual − expected| ≤ bound fails (the worst element, relative to its bound), or null. */
export function closeFailure(actual: ArrayLike<number>, expected: ArrayLike<number>, bound: Bound, label: string): string | null {
  if (actual.length !== expected.length) return `${label}: length ${actual.length} vs ${expected.length}`;
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const b = boundAt(bound, i);
    if (!(err <= b)) {
      const ratio = Number.isFinite(err) ? err / b : Infinity;
      if (worst < 0 || ratio > worstRatio) {
        worst = i;
        worstRatio = ratio;
      }
    }
  }
  if (worst < 0) return null;
  const b = boundAt(bound, worst);
  return `${label}: element ${worst}: got ${actual[worst]}, expected ${expected[worst]} (|err| ${Math.abs(actual[worst] - expected[worst]).toExponential(3)} > bound ${b.toExponential(3)})`;
}

export class CheckFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailure';
  }
}

export class Checker {
  readonly outputs: CheckedOutput[] = [];

  /** |actual − expected| ≤ bound elementwise. */
  close(actual: ArrayLike<number>, expected: ArrayLike<number>, bound: Bound, label: string): void {
    this.outputs.push({ label, actual: Float64Array.from(actual), expected: Float64Array.from(expected), bound });
    const failure = closeFailure(actual, expected, bound, label);
    if (failure) throw new CheckFailure(failure);
  }

  /** Exact equality (same length, same values; NaN equals NaN). */
  equal(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
    const a = Float64Array.from(actual);
    const e = Float64Array.from(expected);
    this.outputs.push({ label, actual: a, expected: e, bound: 0 });
    const same = a.length === e.length && a.every((v, i) => v === e[i] || (Number.isNaN(v) && Number.isNaN(e[i])));
    if (!same) {
      const shown = (x: Float64Array) => (x.length > 12 ? `[${Array.from(x.subarray(0, 12)).join(', ')}, … (${x.length})]` : `[${Array.from(x).join(', ')}]`);
      throw new CheckFailure(`${label}: got ${shown(a)}, expected ${shown(e)}`);
    }
  }

  /** A condition on computed values (the message says what was seen). */
  ok(condition: boolean, message: string): void {
    if (!condition) throw new CheckFailure(message);
  }
}

/** One shader-versus-reference test case, runnable in Node and in a page. */
export interface KernelCase {
  suite: string;
  name: string;
  run(check: Checker): Promise<void>;
}

/** Runs a case and returns its checker (outputs kept even when it throws). */
export async function runCase(c: KernelCase, check = new Checker()): Promise<Checker> {
  await c.run(check);
  return check;
}
