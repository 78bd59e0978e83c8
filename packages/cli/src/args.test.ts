import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileError, integerOption, parseCommandArgs, UsageError, writeOutput } from './args.js';

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  prune: { type: 'string' },
  input: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;

/** The one-line message a command line fails with. */
function mistake(args: string[]): string {
  try {
    parseCommandArgs(args, OPTIONS);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error(`${args.join(' ')} parsed`);
}

describe('parseCommandArgs', () => {
  it('reads values, repeated options, short names and negative numbers', () => {
    const { values, positionals } = parseCommandArgs(
      ['m.onnx', '-o', 'x.zsk', '--prune', '-0.1', '--input', 'a', '--input=b', '--json', '--verbose'],
      OPTIONS,
    );
    expect(positionals).toEqual(['m.onnx']);
    expect(values).toEqual({ output: 'x.zsk', prune: '-0.1', input: ['a', 'b'], json: true, verbose: true });
    expect(parseCommandArgs(['--prune', '-.5'], OPTIONS).values.prune).toBe('-.5');
  });

  it('names each mistake in one line', () => {
    expect(mistake(['--bogus'])).toBe('unknown option --bogus.');
    expect(mistake(['-x'])).toBe('unknown option -x.');
    expect(mistake(['m.onnx', '--prune'])).toBe('--prune needs a value.');
    expect(mistake(['--input', '--json'])).toBe('--input needs a value.');
    expect(mistake(['-o', '--prune', '0.5'])).toBe('-o needs a value.');
    expect(mistake(['--json=yes'])).toBe("--json takes no value, got 'yes'.");
    expect(mistake(['a.onnx', 'b.onnx'])).toBe("unexpected argument 'b.onnx'.");
  });
});

describe('integerOption', () => {
  it('accepts integers from the minimum and rejects the rest', () => {
    expect(integerOption(undefined, '--seed', 0)).toBeUndefined();
    expect(integerOption('0', '--seed', 0)).toBe(0);
    expect(integerOption('12', '--batch', 1)).toBe(12);
    for (const bad of ['', ' ', '-1', '1.5', 'abc', 'NaN', 'Infinity'])
      expect(() => integerOption(bad, '--seed', 0)).toThrow(
        new UsageError(`--seed must be an integer ≥ 0, got '${bad}'.`),
      );
    expect(() => integerOption('0', '--batch', 1)).toThrow(/--batch must be an integer ≥ 1, got '0'/);
  });
});

describe('writeOutput', () => {
  it('creates missing folders, and names a path it cannot write in one line', () => {
    const root = mkdtempSync(join(tmpdir(), 'zeroskip-args-'));
    const file = join(root, 'a', 'b', 'x.bin');
    writeOutput(file, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(file)]).toEqual([1, 2, 3]);
    expect(() => writeOutput(join(root, 'a'), new Uint8Array(1))).toThrow(
      new FileError(`cannot write ${join(root, 'a')}: it is a folder.`),
    );
    const blocker = join(root, 'file');
    writeFileSync(blocker, '');
    expect(() => writeOutput(join(blocker, 'x.bin'), new Uint8Array(1))).toThrow(
      new FileError(`cannot write ${join(blocker, 'x.bin')}: a file stands where a folder should be.`),
    );
  });
});
