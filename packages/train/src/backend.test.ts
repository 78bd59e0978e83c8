import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('useBackend', () => {
  it('without a WebGPU adapter, throws its typed error and nothing else reaches stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zeroskip-train-'));
    const script = join(dir, 'no-adapter.mjs');
    writeFileSync(
      script,
      `import { useBackend } from ${JSON.stringify(dist)};
try { await useBackend('webgpu'); console.log('started'); } catch (e) { console.log(e.code); }`,
    );
    // no Vulkan driver: the loader finds none at this path
    const missing = join(dir, 'no-driver.json');
    const env = { ...process.env, VK_ICD_FILENAMES: missing, VK_DRIVER_FILES: missing };
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((done, fail) =>
      execFile(process.execPath, [script], { env }, (e, stdout, stderr) =>
        e ? fail(e) : done({ stdout, stderr }),
      ),
    );
    expect(stdout.trim()).toBe('backend-unavailable');
    // (Dawn itself may warn that no Vulkan driver loads: that is not ours to silence)
    expect(stderr).not.toMatch(/Initialization of backend|TypeError|\.js:\d+/);
  }, 120_000);
});
