import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compressModel, importOnnx, optimize, readNpy, runCpu, ZOO } from '@zeroskip/runtime';
import { PRETRAINED } from '@zeroskip/train';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const MODELS = new URL('../../../../shared/models/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'zeroskip-cli-'));

async function zeroskip(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return zeroskipWith(process.env, ...args);
}

async function zeroskipWith(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { maxBuffer: 1 << 24, env });
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
    expect(missing.stderr.trim().split('\n')).toEqual([
      `zeroskip run: cannot read ${join(tmp, 'missing.onnx')}: no such file.`,
    ]);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const bad = join(tmp, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    const corrupt = await zeroskip('inspect', bad, '--verbose');
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/zeroskip inspect: this is not a readable ONNX model/);
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
    const ran = await zeroskip('run', zsk, '--input', join(MODELS, 'lenet5.input.npy'), '--output', y);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout.split('\n')[0]).toBe(
      'backend: cpu (default; --backend webgpu for the WebGPU executor)',
    );
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
    expect(r.stdout).toMatch(/^backend: webgpu \(--backend cpu for the CPU executor\)$/m);
    const [, gpuMs, wallMs, runGpuMs] = r.stdout.match(
      /profile: ([\d.]+) ms of GPU work \(gpu-[a-z-]+\) in a ([\d.]+) ms profiled run; ([\d.]+) ms as an untimed run records it/,
    )!;
    expect(Number(gpuMs)).toBeGreaterThan(0);
    expect(Number(gpuMs)).toBeLessThanOrEqual(Number(wallMs));
    expect(Number(runGpuMs)).toBeGreaterThan(0);
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

describe('usage mistakes and failures', () => {
  const lenet = join(MODELS, 'lenet5.onnx');
  const cases: [string[], string][] = [
    [
      ['compress', lenet, '-o', join(tmp, 'x.zsk'), '--prune', '-0.1'],
      "--prune must be a number in [0, 1), got '-0.1'.",
    ],
    [
      ['compress', lenet, '-o', join(tmp, 'x.zsk'), '--prune', 'half'],
      "--prune must be a number in [0, 1), got 'half'.",
    ],
    [['compress', lenet, '--prune', '0.5'], 'name the output file with -o out.zsk.'],
    [['run', lenet, '--bogus'], 'unknown option --bogus.'],
    [['run', lenet, '--input'], '--input needs a value.'],
    [['run', lenet, '--input', '--output', 'y.npy'], '--input needs a value.'],
    [['inspect', lenet, '--json=yes'], "--json takes no value, got 'yes'."],
    [['inspect', lenet, 'extra.onnx'], "unexpected argument 'extra.onnx'."],
    [
      ['zoo', 'lenet-5', '-o', join(tmp, 'x.zsk'), '--seed', '1.5'],
      "--seed must be an integer ≥ 0, got '1.5'.",
    ],
    [['zoo', 'lenet-5', '--list'], "--list lists every model; drop 'lenet-5'."],
    [
      ['zoo', 'lenet-5', '-o', join(tmp, 'x.zsk'), '--size', '32'],
      'lenet-5 takes a fixed 28×28 input: drop --size.',
    ],
    [
      ['train', 'lenet-5', '-o', join(tmp, 'x.zsk'), '--epochs', '0'],
      "--epochs must be an integer ≥ 1, got '0'.",
    ],
    [
      ['input', lenet, '-o', join(tmp, 'x.npy'), '--batch', 'two'],
      "--batch must be an integer ≥ 1, got 'two'.",
    ],
    [
      ['input', lenet, '-o', join(tmp, 'x.npy'), '--batch', '2'],
      "input 'input' [1, 1, 28, 28] has a fixed batch of 1, not 2.",
    ],
  ];
  for (const [args, message] of cases)
    it(`zeroskip ${args[0]} says "${message}" and where the usage is, exit code 2`, async () => {
      const r = await zeroskip(...args);
      expect(r.code).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        `zeroskip ${args[0]}: ${message}`,
        `run 'zeroskip ${args[0]} --help' for usage`,
      ]);
    });

  it('an unknown command points at the top-level usage', async () => {
    const r = await zeroskip('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      "zeroskip: unknown command 'frobnicate'.",
      "run 'zeroskip --help' for usage",
    ]);
  });

  it('runtime failures are the typed error in one line with exit code 1', async () => {
    const zsk = join(tmp, 'corrupt.zsk');
    writeFileSync(zsk, 'not a zsk file at all');
    const corrupt = await zeroskip('inspect', zsk);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^zeroskip inspect: not a valid \.zsk file: /),
    ]);
    const image = await zeroskip('input', lenet, '-o', join(tmp, 'x.npy'), '--image', zsk);
    expect(image.code).toBe(1);
    expect(image.stderr.trimEnd().split('\n')).toEqual([
      `zeroskip input: ${zsk} is neither a PNG nor a JPEG image.`,
    ]);
  });

  it('without a WebGPU adapter, says so in one line and how to run on the CPU', async () => {
    // no Vulkan driver: the loader finds none at this path
    const env = {
      ...process.env,
      VK_ICD_FILENAMES: join(tmp, 'no-driver.json'),
      VK_DRIVER_FILES: join(tmp, 'no-driver.json'),
    };
    const r = await zeroskipWith(
      env,
      'run',
      lenet,
      '--input',
      join(MODELS, 'lenet5.input.npy'),
      '--output',
      join(tmp, 'y.npy'),
      '--backend',
      'webgpu',
    );
    expect(r.code).toBe(1);
    const ours = r.stderr.split('\n').filter((l) => l.startsWith('zeroskip') || l.startsWith('the CPU'));
    expect(ours).toEqual([
      expect.stringMatching(/^zeroskip run: No WebGPU adapter was found: /),
      'the CPU executor needs no adapter: use --backend cpu (the default of zeroskip run)',
    ]);
    expect(r.stderr).not.toMatch(/\n\s+at .*cli\.js/);
  });

  it('creates the folders an output path names', async () => {
    const nested = join(tmp, 'new', 'deeper');
    const c = await zeroskip('compress', lenet, '-o', join(nested, 'lenet5.zsk'), '--prune', '0.5');
    expect(c.code, c.stderr).toBe(0);
    expect(existsSync(join(nested, 'lenet5.zsk'))).toBe(true);
    const y = join(tmp, 'run-out', 'y.npy');
    expect(
      (await zeroskip('run', lenet, '--input', join(MODELS, 'lenet5.input.npy'), '--output', y)).code,
    ).toBe(0);
    expect(readNpy(new Uint8Array(readFileSync(y))).shape).toEqual([1, 10]);
  });
});

describe('zeroskip zoo --list and zeroskip input', () => {
  it('lists every zoo and trained model with its size', async () => {
    const r = await zeroskip('zoo', '--list');
    expect(r.code, r.stderr).toBe(0);
    for (const name of [...Object.keys(ZOO), ...Object.keys(PRETRAINED)])
      expect(r.stdout).toMatch(new RegExp(`^  ${name.replace('.', '\\.')} +\\d+ +[\\d.]+ [kM]B `, 'm'));
    const json = JSON.parse((await zeroskip('zoo', '--list', '--json')).stdout);
    expect(json.pretrained.every((p: { zskBytes: number }) => p.zskBytes > 0)).toBe(true);
  });

  it('the usage lists input, and input --help its own', async () => {
    const top = await zeroskip('--help');
    expect(top.stdout).toMatch(/^ {2}zeroskip input <model\.onnx\|model\.zsk> -o <x\.npy>/m);
    for (const command of ['inspect', 'compress', 'zoo', 'train', 'input', 'run']) {
      const help = await zeroskip(command, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^  zeroskip ${command} `, 'm'));
    }
    expect((await zeroskip('run', '--help')).stdout).toMatch(/--backend cpu\|webgpu \(default cpu\)/);
  });

  it('writes a seeded batch for a trained model, and an image, that run takes', async () => {
    const zsk = join(tmp, 'pretrained-lenet5.zsk');
    expect((await zeroskip('zoo', 'lenet-5', '--pretrained', '-o', zsk)).code).toBe(0);
    const a = join(tmp, 'inputs', 'a.npy');
    const b = join(tmp, 'inputs', 'b.npy');
    const r = await zeroskip('input', zsk, '-o', a, '--seed', '5', '--batch', '3');
    expect(r.code, r.stderr).toBe(0);
    expect((await zeroskip('input', zsk, '-o', b, '--seed', '5', '--batch', '3')).code).toBe(0);
    const x = readNpy(new Uint8Array(readFileSync(a)));
    expect(x.shape).toEqual([3, 1, 28, 28]);
    expect(readFileSync(b)).toEqual(readFileSync(a));
    const y = join(tmp, 'inputs', 'y.npy');
    expect((await zeroskip('run', zsk, '--input', a, '--output', y)).code).toBe(0);
    expect(readNpy(new Uint8Array(readFileSync(y))).shape).toEqual([3, 10]);

    // a white 28×28 digit-like bar on black: grayscale values land where the pixels were
    const png = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < 28 * 28; i++) {
      const on = i % 28 >= 12 && i % 28 < 16 ? 255 : 0;
      png.data.set([on, on, on, 255], 4 * i);
    }
    const image = join(tmp, 'bar.png');
    writeFileSync(image, PNG.sync.write(png));
    const fromImage = join(tmp, 'inputs', 'bar.npy');
    expect((await zeroskip('input', zsk, '-o', fromImage, '--image', image)).code).toBe(0);
    const pixels = readNpy(new Uint8Array(readFileSync(fromImage)));
    expect(pixels.shape).toEqual([1, 1, 28, 28]);
    expect([...pixels.data].map((v) => Math.round(v))).toEqual(
      Array.from({ length: 28 * 28 }, (_, i) => (i % 28 >= 12 && i % 28 < 16 ? 1 : 0)),
    );
  });
});
