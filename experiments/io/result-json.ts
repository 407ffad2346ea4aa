// Results are never written with NaN or ±Infinity in them: JSON.stringify would silently turn
// them into null, and a report would then average over holes. A non-finite number is an error that
// names the field, so the command fails instead of writing a plausible-looking file.

/** The first non-finite number in `value`, as a path like `points[3].accuracy`, or null. */
export function nonFinitePath(value: unknown, path = ''): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path || '(value)'} = ${value}`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nonFinitePath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const [key, v] of Object.entries(value)) {
      const found = nonFinitePath(v, path ? `${path}.${key}` : key);
      if (found) return found;
    }
  }
  return null;
}

/** JSON text of a result record (newline-terminated); throws if any number in it is not finite. */
export function resultJson(value: unknown, source: string, indent?: number): string {
  const bad = nonFinitePath(value);
  if (bad) throw new Error(`${source}: refusing to write a non-finite result (${bad})`);
  return JSON.stringify(value, null, indent) + '\n';
}

/**
 * A copy of `record` in which the listed statistics, where not finite, are null: the way a result
 * says "undefined here" (e.g. a variance over no active unit). Every other number must be finite.
 */
export function undefinedAsNull<T extends object, K extends keyof T>(record: T, keys: readonly K[]): Omit<T, K> & { [P in K]: T[P] | null } {
  const out = { ...record } as Record<keyof T, unknown>;
  for (const k of keys) if (typeof out[k] === 'number' && !Number.isFinite(out[k] as number)) out[k] = null;
  return out as Omit<T, K> & { [P in K]: T[P] | null };
}
