/** Option parsing shared by commands: repeatable flags and key=value lists. */
import { StrataError } from '../common/errors.js';

/** Commander's accumulator for a repeatable option (--option a=1 --option b=2). */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `key=value` strings to a record; `flag` names the option in the error for a pair without '='. */
export function parseKeyValues(pairs: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of pairs) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new StrataError('INVALID_ARGUMENT', `${flag} "${kv}" is not key=value`);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** A whole number of at least `min` from a flag's text, or INVALID_ARGUMENT naming the flag. */
export function parseWholeNumber(text: string, flag: string, min = 0): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new StrataError('INVALID_ARGUMENT', `${flag}: "${text}" is not a whole number of at least ${min}`);
  return n;
}
