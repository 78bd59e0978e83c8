import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readNpy } from '@zeroskip/runtime';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const MODELS = new URL('../../../../shared/models/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'zeroskip-first-run-'));

/** `zeroskip run --backend webgpu` on lenet5, stderr piped (not a terminal). */
function runLenet(...extra: string[]) {
  const out = join(tmp, `y${extra.length}.npy`);
  const args = ['run', join(MODELS, 'lenet5.onnx'), '--backend', 'webgpu'];
  args.push('--input', join(MODELS, 'lenet5.input.npy'), '--output', out, ...extra);
  return { out, result: exec(process.execPath, [CLI, ...args], { maxBuffer: 1 << 24 }) };
}

describe('zeroskip run --backend webgpu, first run', () => {
  it('shows pipeline compiles in a few lines and reports first-run and steady-state times', async () => {
    const { out, result } = runLenet();
    const { stdout, stderr } = await result;
    const lines = stderr.split('\n').filter((l) => l.startsWith('compiling pipelines:'));
    const counts = lines.map((l) =>
      l
        .match(/(\d+)\/(\d+)$/)!
        .slice(1)
        .map(Number),
    );
    expect(counts.length).toBeGreaterThan(0);
    expect(counts.length).toBeLessThanOrEqual(5);
    const total = counts[0]![1]!;
    expect(counts.at(-1)).toEqual([total, total]);
    expect(counts.map(([done]) => done)).toEqual([...counts.map(([done]) => done!)].sort((a, b) => a - b));
    expect(stdout).toMatch(/latency: [\d.]+ ms steady state \(plan auto; median of \d+ runs/);
    expect(stdout).toMatch(
      new RegExp(`first run: [\\d.]+ ms \\(weight upload and ${total} pipeline compiles`),
    );
    const want = readNpy(readFileSync(join(MODELS, 'lenet5.output.npy')));
    const got = readNpy(readFileSync(out));
    for (let i = 0; i < want.data.length; i++)
      expect(Math.abs(got.data[i]! - want.data[i]!)).toBeLessThan(1e-3);
  }, 120_000);

  it('--json carries both times', async () => {
    const { stdout } = await runLenet('--json').result;
    const report = JSON.parse(stdout);
    expect(report.latencyMs).toBeGreaterThan(0);
    expect(report.firstRunMs).toBeGreaterThan(0);
    expect(report.pipelines).toBeGreaterThan(0);
    expect(report.timedRuns).toBeGreaterThan(0);
  }, 120_000);
});
