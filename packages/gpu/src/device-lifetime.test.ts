import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

// A process that opens devices, destroys them and then collects garbage, as a test worker does
// between files: it crashed (SIGSEGV, SIGABRT) or hung when the Dawn instance was collected while
// Dawn's threads were still tearing the last device down.
const script = `
const { requestDevice, Conv2dLayer } = await import(${JSON.stringify(built)});
for (let round = 0; round < 3; round++) {
  const gpu = await requestDevice();
  new Conv2dLayer(gpu, { weights: new Float32Array(6 * 4 * 9).fill(0.5), shape: [6, 4, 3, 3] }).destroy();
  gpu.destroy();
  for (let i = 0; i < 10; i++) {
    globalThis.gc();
    await new Promise((settle) => setTimeout(settle, 5));
  }
}
console.log('exited cleanly');
`;

// A caller's own entry point, passed inline and held by nobody else: collected while its device was in
// use, Dawn aborted the process ("The futex facility returned an unexpected error code") at the next
// read-back.
const entryScript = `
const { requestDevice } = await import(${JSON.stringify(built)});
const { create } = await import('webgpu');
const gpu = await requestDevice({ gpu: create([]) });
for (let i = 0; i < 10; i++) {
  globalThis.gc();
  await new Promise((settle) => setTimeout(settle, 5));
}
const t = gpu.tensor([3], new Float32Array([1, 2, 3]));
console.log('read', [...(await gpu.read(t))].join(','));
gpu.destroy();
`;

const run = (source: string) =>
  promisify(execFile)(process.execPath, ['--expose-gc', '--input-type=module', '-e', source], {
    timeout: 90_000,
  });

describe('the Dawn instance', { timeout: 120_000 }, () => {
  it('outlives destroyed devices: a process that collects garbage after destroying them exits cleanly', async () => {
    for (let i = 0; i < 3; i++) expect((await run(script)).stdout).toContain('exited cleanly');
  });

  it('lives as long as a device opened from it, where the caller keeps no reference to it', async () => {
    expect((await run(entryScript)).stdout).toContain('read 1,2,3');
  });
});
