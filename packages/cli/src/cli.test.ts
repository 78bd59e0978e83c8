import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compressModel, importOnnx, optimize, readNpy, runCpu } from '@zeroskip/runtime';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const MODELS = new URL('../../../../shared/models/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'zeroskip-cli-'));

async function zeroskip(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('zeroskip run matches ONNX Runtime on every reference model, on both backends', () => {
  for (const model of ['lenet5', 'squeezenet1_1', 'mobilenet_v2']) {
    for (const backend of ['cpu', 'webgpu']) {
      it(`${model} --backend ${backend}`, async () => {
        const out = join(tmp, `${model}-${backend}.npy`);
        const r = await zeroskip(
          'run',
          join(MODELS, `${model}.onnx`),
          '--input',
          join(MODELS, `${model}.input.npy`),
          '--output',
          out,
          '--backend',
          backend,
          '--json',
        );
        expect(r.code, r.stderr).toBe(0);
        const report = JSON.parse(r.stdout);
        expect(report.latencyMs).toBeGreaterThan(0);
        const got = readNpy(new Uint8Array(readFileSync(out))).data as Float32Array;
        const want = readNpy(new Uint8Array(readFileSync(join(MODELS, `${model}.output.npy`))))
          .data as Float32Array;
        const tol = 1e-4 * want.reduce((m, v) => Math.max(m, Math.abs(v)), 0) + 1e-5;
        expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThanOrEqual(tol);
        if (backend === 'webgpu')
          expect(report.kernels.some((k: { kernel: string }) => k.kernel === 'cpu')).toBe(false);
      });
    }
  }
});

describe('zeroskip inspect and errors', () => {
  it('inspects layers, parameters and sparsity as JSON', async () => {
    const r = await zeroskip('inspect', join(MODELS, 'squeezenet1_1.onnx'), '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.layers).toHaveLength(26);
    expect(report.params).toBe(1235496); // torchvision's SqueezeNet 1.1
    expect(report.ops.Identity).toBe(18);
  });

  it('fails with one line and a non-zero code, stack traces only with --verbose', async () => {
    const missing = await zeroskip('run', join(tmp, 'missing.onnx'), '--input', 'x.npy', '--output', 'y.npy');
    expect(missing.code).toBe(1);
    expect(
      missing.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('zeroskip:')),
    ).toEqual([`zeroskip: cannot read ${join(tmp, 'missing.onnx')}: no such file.`]);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const bad = join(tmp, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    const corrupt = await zeroskip('inspect', bad, '--verbose');
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/zeroskip: this is not a readable ONNX model/);
    expect(corrupt.stderr).toMatch(/\n\s+at /);
    const usage = await zeroskip(
      'run',
      join(MODELS, 'lenet5.onnx'),
      '--backend',
      'tpu',
      '--input',
      'x',
      '--output',
      'y',
    );
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--backend must be cpu or webgpu/);
  });
});

describe('zeroskip compress', () => {
  it('writes a .zsk whose outputs equal the compressed model, and prints the Deep Compression table', async () => {
    const zsk = join(tmp, 'lenet5.zsk');
    const table = join(tmp, 'prune.json');
    writeFileSync(
      table,
      JSON.stringify({
        '/c1/Conv': 0.34,
        '/c2/Conv': 0.88,
        '/f1/Gemm': 0.92,
        '/f2/Gemm': 0.91,
        '/f3/Gemm': 0.81,
      }),
    );
    const r = await zeroskip(
      'compress',
      join(MODELS, 'lenet5.onnx'),
      '-o',
      zsk,
      '--prune-table',
      table,
      '--cluster',
      'conv=8,fc=5',
      '--huffman',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.layers.map((l: { kept: number }) => +l.kept.toFixed(2))).toEqual([
      0.66, 0.12, 0.08, 0.09, 0.19,
    ]);
    expect(report.fileRatio).toBeGreaterThan(10);
    const y = join(tmp, 'lenet5-zsk.npy');
    expect(
      (await zeroskip('run', zsk, '--input', join(MODELS, 'lenet5.input.npy'), '--output', y)).code,
    ).toBe(0);
    const graph = optimize(importOnnx(new Uint8Array(readFileSync(join(MODELS, 'lenet5.onnx')))));
    const c = compressModel(graph, {
      pruneTable: {
        '/c1/Conv': 0.34,
        '/c2/Conv': 0.88,
        '/f1/Gemm': 0.92,
        '/f2/Gemm': 0.91,
        '/f3/Gemm': 0.81,
      },
      cluster: { conv: 8, fc: 5 },
      huffman: true,
    });
    const want = runCpu(c.graph, {
      input: readNpy(new Uint8Array(readFileSync(join(MODELS, 'lenet5.input.npy')))),
    }).output!.data;
    expect(readNpy(new Uint8Array(readFileSync(y))).data).toEqual(want);
    const text = await zeroskip('compress', join(MODELS, 'lenet5.onnx'), '-o', zsk, '--prune', '0.9');
    expect(text.stdout).toMatch(/weight bits\s+index bits/);
    expect(text.stdout).toMatch(/total: 61470 weights/);
  });

  it('rejects bad compression arguments with the usage', async () => {
    const r = await zeroskip(
      'compress',
      join(MODELS, 'lenet5.onnx'),
      '-o',
      join(tmp, 'x.zsk'),
      '--cluster',
      'conv=9',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--cluster conv must be an integer in 1..8/);
  });
});

describe('zeroskip run --plan tuned', () => {
  it('tunes on the device, caches the choices, and still matches ONNX Runtime', async () => {
    const env = { ...process.env, XDG_CACHE_HOME: tmp };
    const out = join(tmp, 'tuned.npy');
    const args = [
      CLI,
      'run',
      join(MODELS, 'lenet5.onnx'),
      '--input',
      join(MODELS, 'lenet5.input.npy'),
      '--output',
      out,
      '--backend',
      'webgpu',
      '--plan',
      'tuned',
      '--json',
    ];
    const first = await run(process.execPath, args, { env });
    const cache = JSON.parse(readFileSync(join(tmp, 'zeroskip', 'plans.json'), 'utf8'));
    expect(Object.keys(cache)).toHaveLength(5);
    expect(
      JSON.parse(first.stdout).kernels.filter((k: { op: string }) => k.op === 'Conv' || k.op === 'Gemm'),
    ).toHaveLength(5);
    const got = readNpy(new Uint8Array(readFileSync(out))).data as Float32Array;
    const want = readNpy(new Uint8Array(readFileSync(join(MODELS, 'lenet5.output.npy'))))
      .data as Float32Array;
    expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThanOrEqual(
      1e-4 * Math.max(...want.map(Math.abs)) + 1e-5,
    );
  });
});

describe('zeroskip run --profile', () => {
  it('prints GPU time against wall time and the costliest nodes; refuses the CPU backend', async () => {
    const args = (backend: string) => [
      'run',
      join(MODELS, 'lenet5.onnx'),
      '--input',
      join(MODELS, 'lenet5.input.npy'),
      '--output',
      join(tmp, `profiled-${backend}.npy`),
      '--backend',
      backend,
      '--profile',
    ];
    const r = await zeroskip(...args('webgpu'));
    expect(r.code, r.stderr).toBe(0);
    const [, gpuMs, wallMs] = r.stdout.match(
      /profile: ([\d.]+) ms of GPU work \(gpu-[a-z-]+\) in a ([\d.]+) ms profiled run/,
    )!;
    expect(Number(gpuMs)).toBeGreaterThan(0);
    expect(Number(gpuMs)).toBeLessThanOrEqual(Number(wallMs));
    expect(r.stdout).toMatch(/Conv\s+(direct-sparse|implicit-gemm)/);
    const cpu = await zeroskip(...args('cpu'));
    expect(cpu.code).toBe(2);
    expect(cpu.stderr).toMatch(/--profile times GPU kernels: use it with --backend webgpu/);
  });
});

describe('zeroskip zoo', () => {
  it('writes seeded zoo models as .zsk and .onnx that run and inspect', async () => {
    const zsk = join(tmp, 'binarynet.zsk');
    const r = await zeroskip('zoo', 'binarynet', '-o', zsk, '--seed', '3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/317770 parameters/);
    const inspect = JSON.parse((await zeroskip('inspect', zsk, '--json')).stdout);
    expect(inspect.layers).toHaveLength(4);
    const onnxFile = join(tmp, 'resnet.onnx');
    expect((await zeroskip('zoo', 'resnet-18', '-o', onnxFile, '--size', '32')).code).toBe(0);
    const report = JSON.parse((await zeroskip('inspect', onnxFile, '--json')).stdout);
    expect(report.inputs[0].shape).toEqual([1, 3, 32, 32]);
    const bad = await zeroskip('zoo', 'resnet-1000', '-o', join(tmp, 'x.zsk'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown zoo model 'resnet-1000'/);
  });

  it('writes the shipped trained models, and inspect shows their layers as binary with the bytes stored', async () => {
    const zsk = join(tmp, 'trained-binarynet.zsk');
    const r = await zeroskip('zoo', 'binarynet', '--pretrained', '-o', zsk);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse((await zeroskip('inspect', zsk, '--json')).stdout);
    expect(report.layers.map((l: { kind: string }) => l.kind)).toEqual([
      'binary',
      'binary × sign',
      'binary × sign',
      'binary × sign',
    ]);
    // sign bits: 32 weights per 4 bytes, plus a scale per row
    expect(report.bytes / report.storedBytes).toBeGreaterThan(30);
    const bad = await zeroskip('zoo', 'alexnet', '--pretrained', '-o', join(tmp, 'x.zsk'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no pretrained model 'alexnet'/);
  });

  it('prints its version, and each command its own usage with --help', async () => {
    const version = await zeroskip('--version');
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version,
    );
    const help = await zeroskip('zoo', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/zeroskip zoo <name> --pretrained/);
    expect(help.stdout).not.toMatch(/zeroskip compress/);
  });
});
