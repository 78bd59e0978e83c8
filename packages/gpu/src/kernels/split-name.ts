import { GpuError } from '../errors.js';

/**
 * The letter of each field of a kernel's work split, in name order: `{ px: 'p', lanes: 'l' }` names
 * `{ px: 7, lanes: 32 }` `p7l32`. Benchmark rows and variant lists carry splits by these names.
 */
export type SplitLetters<K extends string> = Readonly<Record<K, string>>;

/** The short name of `split`: each field's letter and value, in the letters' order. */
export function splitName<K extends string>(
  letters: SplitLetters<K>,
  split: Readonly<Record<K, number>>,
): string {
  return (Object.keys(letters) as K[]).map((k) => `${letters[k]}${split[k]}`).join('');
}

/**
 * Reads {@link splitName}'s form back (unchecked values: the kernel checks its own bounds); a name of
 * another form is a GpuError naming the form, `what` the split is and an `example`.
 */
export function parseSplitName<K extends string>(
  letters: SplitLetters<K>,
  name: string,
  what: string,
  example: string,
): Record<K, number> {
  const keys = Object.keys(letters) as K[];
  const m = new RegExp(`^${keys.map((k) => `${letters[k]}(\\d+)`).join('')}$`).exec(name.trim());
  if (!m)
    throw new GpuError(
      'invalid-argument',
      `'${name}' is not a ${what}; write it as ${keys.map((k) => `${letters[k]}<${k}>`).join('')}, e.g. ${example}.`,
    );
  return Object.fromEntries(keys.map((k, i) => [k, Number(m[i + 1])])) as Record<K, number>;
}
