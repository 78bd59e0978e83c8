import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// Every package README's example must run as written against the built packages.
const root = resolve(import.meta.dirname, '../../..');
// packages with a library entry point (the CLI's README shows shell commands instead)
const packages = readdirSync(join(root, 'packages')).filter(
  (p) => JSON.parse(readFileSync(join(root, 'packages', p, 'package.json'), 'utf8')).exports?.['.'],
);

// examples that load a model read it from ZEROSKIP_MODELS: the reference models beside the repository
process.env.ZEROSKIP_MODELS ??= resolve(root, '../shared/models');

describe.each(packages)('README example of packages/%s', (pkg) => {
  // a GPU example compiles its shaders on first use: minutes on a software adapter without a shader cache
  it('runs', async () => {
    const readme = readFileSync(join(root, 'packages', pkg, 'README.md'), 'utf8');
    const code = readme.match(/## Example[\s\S]*?```ts\n([\s\S]*?)```/)?.[1];
    expect(code, `packages/${pkg}/README.md needs an "## Example" with a ts block`).toBeTruthy();
    // written beside this app so that '@zeroskip/*' resolves through its node_modules
    const dir = mkdtempSync(join(import.meta.dirname, '..', '.readme-'));
    const file = join(dir, 'example.mjs');
    writeFileSync(file, code!);
    const log = console.log;
    console.log = () => {};
    try {
      await import(file);
    } finally {
      console.log = log;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
