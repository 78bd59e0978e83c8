import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';

export const REPO = resolve(import.meta.dirname, '../../..');
export const DOCS = join(REPO, 'docs');
export const EXAMPLES = join(DOCS, 'examples');
/** The reference models beside the repository (CI has them there too). */
export const MODELS = resolve(REPO, '../shared/models');
/** Inside this package, so that the examples' imports resolve to the workspace packages' dist. */
const COMPILED = resolve(import.meta.dirname, '../.examples');

/** Every example the guide includes, by file name. */
export const exampleFiles = (): string[] =>
  readdirSync(EXAMPLES)
    .filter((f) => /\.(ts|mjs)$/.test(f))
    .sort();

/**
 * Runs one example as a user would, in a fresh working folder: TypeScript is transpiled (not bundled)
 * and run by Node against the built packages, with the models folder as its argument. Resolves with
 * its stdout; rejects with its output.
 */
export async function runExample(file: string, timeoutMs: number): Promise<string> {
  mkdirSync(COMPILED, { recursive: true });
  const source = readFileSync(join(EXAMPLES, file), 'utf8');
  const js = file.endsWith('.ts')
    ? ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        fileName: file,
      }).outputText
    : source;
  const script = join(COMPILED, `${basename(file).replace(/\.(ts|mjs)$/, '')}.mjs`);
  writeFileSync(script, js);
  const cwd = mkdtempSync(join(tmpdir(), 'zs-example-'));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [script, MODELS], {
      cwd,
      timeout: timeoutMs,
      maxBuffer: 16 << 20,
    });
    return stdout;
  } catch (e) {
    const { stderr, stdout } = e as { stderr?: string; stdout?: string };
    throw new Error(`${file} failed:\n${stdout ?? ''}\n${stderr ?? (e as Error).message}`);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
