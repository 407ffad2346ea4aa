// Number parsing shared by the CLI and platform-neutral code (the page, spec parsers): plain
// JavaScript, so it runs in a browser too.

/** Parses a number, accepting fractions like 8/255 (ε values) and scientific notation; `what` names it in the error. */
export function parseNumberText(text: string, what: string): number {
  const trimmed = text.trim();
  const fraction = /^([-+]?[\d.]+(?:e[-+]?\d+)?)\/([\d.]+(?:e[-+]?\d+)?)$/i.exec(trimmed);
  const value = fraction ? Number(fraction[1]) / Number(fraction[2]) : trimmed === '' ? NaN : Number(trimmed);
  if (!Number.isFinite(value)) throw new Error(`${what}: '${text}' is not a number (examples: 0.1, -30, 1e-3, 8/255)`);
  return value;
}
