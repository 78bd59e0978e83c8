import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A mistake in the command line: printed as one line and a pointer to the command's --help, exit code 2. */
export class UsageError extends Error {}

/** A file that cannot be read or written: one line, exit code 1. */
export class FileError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<T extends Options> = ReturnType<
  typeof parseArgs<{ options: T & { verbose: { type: 'boolean' } }; strict: true; allowPositionals: true }>
>;

/** A value that reads as a number although it starts with a dash (`--prune -0.1`). */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * A command's options and up to `maxPositionals` positionals, every mistake a {@link UsageError} of one
 * line. Node's strict parser would reject `--prune -0.1` as ambiguous and word its errors over several
 * lines, so the tokens are checked here instead.
 */
export function parseCommandArgs<T extends Options>(
  args: string[],
  options: T,
  maxPositionals = 1,
): { values: Parsed<T>['values']; positionals: string[] } {
  const all = { ...options, verbose: { type: 'boolean' } } as const;
  const { values, positionals, tokens } = parseArgs({
    args,
    options: all,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const type = Object.hasOwn(all, t.name) ? all[t.name]!.type : undefined;
    if (!type) throw new UsageError(`unknown option ${t.rawName}.`);
    if (
      type === 'string' &&
      (t.value === undefined || (!t.inlineValue && t.value.startsWith('-') && !NEGATIVE_NUMBER.test(t.value)))
    )
      throw new UsageError(`${t.rawName} needs a value.`);
    if (type === 'boolean' && t.value !== undefined)
      throw new UsageError(`${t.rawName} takes no value, got '${t.value}'.`);
  }
  if (positionals.length > maxPositionals)
    throw new UsageError(`unexpected argument '${positionals[maxPositionals]}'.`);
  // the checks above leave exactly the values the strict parser's types describe
  return { values: values as Parsed<T>['values'], positionals };
}

/** An integer option's value, or undefined when the option is absent. */
export function integerOption(text: string | undefined, what: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isInteger(v) || v < min)
    throw new UsageError(`${what} must be an integer ≥ ${min}, got '${text}'.`);
  return v;
}

export function readFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new FileError(`cannot read ${path}: ${reason(e)}.`);
  }
}

/** Writes a result, creating its folder first as `mkdir -p` would. */
export function writeOutput(path: string, bytes: Uint8Array): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
  } catch (e) {
    throw new FileError(`cannot write ${path}: ${reason(e)}.`);
  }
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'a file stands where a folder should be';
  return (e as Error).message;
}
