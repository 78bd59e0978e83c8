import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

// The API reference of every public package (typedoc.json: treatWarningsAsErrors, so a symbol that the
// public types use but no package exports, or a broken {@link}, fails the build).
it('TypeDoc documents every public package without warnings', async () => {
  const out = mkdtempSync(join(tmpdir(), 'zs-api-'));
  const typedoc = resolve(createRequire(import.meta.url).resolve('typedoc'), '../../bin/typedoc');
  try {
    const run = promisify(execFile)(process.execPath, [typedoc, '--out', out], {
      cwd: resolve(import.meta.dirname, '..'),
    });
    await expect(run.then((r) => r.stdout)).resolves.toMatch(/html generated/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
