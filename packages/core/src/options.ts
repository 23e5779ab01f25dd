/**
 * Option objects are checked for names TVL does not know: a misspelt `outwidth` or `colur` would
 * otherwise be ignored without a word and the video decoded at its own size or colours.
 */
import { InvalidArgumentError, describeValue, type TvlErrorDetails } from './errors.js';

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

/** The known name closest to `name`, if one is close enough to be what was meant. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/**
 * Throws TVL_INVALID_ARGUMENT for the first own property of `options` not in `known`, naming the
 * option it resembles, or else listing the known ones. `what` names the object, e.g. "VideoLoader.open options".
 * Properties whose value is undefined are ignored (a spread of optional fields produces them).
 */
export function rejectUnknownOptions(options: object, known: readonly string[], what: string, details: TvlErrorDetails = {}): void {
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || known.includes(name)) continue;
    const close = closestName(name, known);
    const hint = close !== undefined ? `did you mean '${close}'?` : `known options: ${known.join(', ')}`;
    throw new InvalidArgumentError(`Unknown option '${name}' in ${what}: ${hint}`, details);
  }
}

/**
 * A yes/no option: `value`, or `fallback` when it is undefined; anything else (a string 'false',
 * a 0) is TVL_INVALID_ARGUMENT naming the option, rather than read as truthy or falsy.
 */
export function booleanOption(value: unknown, name: string, fallback = false, details: TvlErrorDetails = {}): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new InvalidArgumentError(`Expected ${name} to be true or false but received ${describeValue(value)}`, details);
  return value;
}
