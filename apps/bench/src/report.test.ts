import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TABLES } from './all-tables.js';
import { headlines } from './headlines.js';
import {
  CONSOLE_WIDTH,
  consoleSummary,
  consoleTable,
  figureCells,
  softwareAdapterNote,
  wrap,
} from './report.js';
import type { BenchResult, Clock } from './results.js';

const timing = (ms: number, clock: Clock = 'gpu-submit-wall') => ({
  median: ms,
  p10: ms * 0.9,
  p90: ms * 1.3,
  samples: 15,
  clock,
});

const row = (
  table: string,
  c: string,
  params: BenchResult['params'],
  value: number,
  unit = 'ms',
  clock?: Clock,
): BenchResult => ({
  table,
  case: c,
  params,
  metric: unit === '×' ? 'speedup' : 'time',
  unit,
  value,
  ...(unit === 'ms' && Number.isFinite(value) ? { timing: timing(value, clock) } : {}),
});

const perKernel = JSON.stringify({
  'conv2d-implicit-gemm-split-k': 0.412,
  'conv2d-direct-sparse': 1.234,
  'maxpool2d-nchw': 0.051,
  'gemm-dense-tiled': 0.33,
  'relu-inplace': 0.012,
  softmax: 0.004,
});
const skipped =
  "a buffer of 3700000000 bytes exceeds this adapter's maxStorageBufferBindingSize of 2147483648 bytes; use a smaller batch or split the layer.";

/** Rows shaped as each table emits them, widest parameters included; no GPU work. */
const bitwiseCase = {
  layer: 'ResNet-18 C=512',
  batch: 32,
  shape: '512x7x7->512 k3',
  seed: 42,
  kernel: 'dorefa (W1 A2)',
};

const FAKES: Readonly<Record<string, () => BenchResult[]>> = {
  codec: () => [
    row(
      'codec',
      'huffman-decode-8bit',
      { symbols: 20_000_000, alphabet: 256, bitsPerSymbol: 6.02, seed: 42 },
      1.5,
      'ms',
      'wall',
    ),
    {
      ...row('codec', 'dense-to-csr', { shape: '4096x4096', sparsity: 0.9, seed: 43 }, 312),
      unit: 'M elements/s',
    },
  ],
  quant: () => [
    {
      ...row(
        'quant',
        'BNN n-bit extension, 3-bit (least-squares scale)',
        { distribution: 'laplacian', weights: 1e6, seed: 42, ratio: 10.67 },
        0.0912,
      ),
      unit: '',
    },
  ],
  'sparse-conv': () =>
    ['AlexNet conv2', 'VGG-16 conv1_2'].flatMap((layer, i) => [
      row(
        'sparse-conv',
        layer,
        { algorithm: 'im2col-gemm', batch: 32, sparsity: 0.5, shape: '64x224x224->64 k3 g1', seed: 42 },
        12.5 + i,
      ),
      row('sparse-conv', layer, { algorithm: 'im2col-gemm', batch: 32, sparsity: 0.5, skipped }, Number.NaN),
      row('sparse-conv', layer, { batch: 32, sparsity: 0.9, over: 'im2col-spmm' }, 2 + i, '×'),
    ]),
  'conv-crossover': () => {
    const conv = {
      network: 'googlenet',
      batch: 32,
      count: 2,
      shape: '480x14x14->192 k1x1 s1 g1',
    };
    return [
      row(
        'conv-crossover',
        'googlenet /Conv_40',
        { ...conv, algorithm: 'sparse-tiled', sparsity: 0.7 },
        0.0421,
      ),
      { ...row('conv-crossover', 'googlenet /Conv_40', conv, 0.7), metric: 'break-even sparsity', unit: '' },
      {
        ...row(
          'conv-crossover',
          'googlenet batch 32',
          { network: 'googlenet', batch: 32, sparsity: 0.9, over: 'dense' },
          1.07,
          '×',
        ),
        metric: "speedup of the planner's choice",
      },
    ];
  },
  networks: () => [
    row(
      'networks',
      'googlenet batch 32',
      {
        plan: 'tuned',
        batch: 32,
        'gpu ms': '41.234',
        'record ms': '3.456',
        'gpu ms by kernel': perKernel,
        kernels: perKernel,
        seed: 42,
      },
      55.1,
      'ms',
      'wall',
    ),
    row('networks', 'googlenet batch 32', { plan: 'tuned', over: 'dense' }, 1.42, '×'),
  ],
  bitwise: () => [
    row(
      'bitwise',
      'ResNet-18 C=512 batch 32',
      {
        ...bitwiseCase,
        weightBytes: 294912,
        activationBytes: 100352,
      },
      0.0123,
    ),
    row(
      'bitwise',
      'ResNet-18 C=512 batch 32',
      {
        ...bitwiseCase,
        over: 'fp32',
        swarEstimate: 2.67,
      },
      3.1,
      '×',
    ),
  ],
  'lowbit-fc': () => [
    row(
      'lowbit-fc',
      'VGG-16 fc6 batch 1',
      {
        layer: 'VGG-16 fc6',
        batch: 1,
        shape: '25088->4096',
        seed: 42,
        kernel: 'ternary',
        rows: 8,
        weightBytes: 25690112,
      },
      0.0213,
    ),
    row(
      'lowbit-fc',
      'VGG-16 fc6 batch 1',
      { layer: 'VGG-16 fc6', batch: 1, shape: '25088->4096', seed: 42, kernel: 'ternary', over: 'f32 GEMV' },
      6.4,
      '×',
    ),
  ],
  'quantized-nets': () => [
    row(
      'quantized-nets',
      'bireal-resnet-18 224×224 batch 16',
      {
        batch: 16,
        'gpu ms': '1.2345',
        'record ms': '0.456',
        kernels: perKernel,
        'gpu ms by kernel': perKernel,
        seed: 42,
      },
      4.2,
      'ms',
      'wall',
    ),
    row(
      'quantized-nets',
      'bireal-resnet-18 224×224 batch 16',
      { over: 'resnet-18 224×224', clock: 'gpu' },
      4.4,
      '×',
    ),
    row(
      'quantized-nets',
      'bireal-resnet-18 224×224 batch 16',
      { over: 'resnet-18 224×224', clock: 'wall' },
      2.1,
      '×',
    ),
  ],
  compression: () => [
    {
      ...row(
        'compression',
        'vgg-16 P+Q+H',
        { weights: 138_357_544, kept: 0.0751, fileBytes: 2_812_345, paper: '49×', seed: 42 },
        49.2,
        '×',
      ),
      metric: 'compression ratio',
    },
  ],
  load: () => [
    row(
      'load',
      'vgg-16 ready on the GPU',
      { fileBytes: 2_812_345, weights: 138_357_544, seed: 42 },
      2345.6,
      'ms',
      'wall',
    ),
  ],
  transfer: () => [
    row('transfer', 'upload 32×3×224²', { way: 'Gpu.tensor', bytes: 19_267_584 }, 2.24, 'ms', 'wall'),
    { ...row('transfer', 'upload 32×3×224²', { way: 'Gpu.tensor', bytes: 19_267_584 }, 8.6), unit: 'GB/s' },
    row('transfer', 'round trip', { way: 'error scopes + onSubmittedWorkDone' }, 0.0365, 'ms', 'wall'),
  ],
  'cold-start': () => [
    row(
      'cold-start',
      'shufflenet-v2 first run at batch 4',
      { network: 'shufflenet-v2', input: '1x3x224x224', skipped },
      Number.NaN,
    ),
    {
      ...row(
        'cold-start',
        'shufflenet-v2 pipelines, first run',
        { network: 'shufflenet-v2', input: '1x3x224x224' },
        57,
      ),
      unit: 'pipelines',
    },
  ],
  peers: () => [
    row(
      'peers',
      'GoogLeNet inception_5b/5x5',
      {
        impl: 'tfjs-webgpu 4.22.0 conv2d',
        batch: 32,
        shape: '48x7x7->128 k5 g1',
        seed: 42,
        'max rel diff': '3.1e-7',
      },
      0.25,
    ),
    row(
      'peers',
      'GoogLeNet inception_5b/5x5',
      { impl: 'zeroskip direct-sparse', batch: 32, over: 'tfjs-webgpu', sparsity: 0.84 },
      1.7,
      '×',
    ),
    row(
      'peers',
      'vgg-16 batch 32',
      { impl: 'onnxruntime-node 1.30.0 cpu', batch: 32, threads: 'default of 128', 'max rel diff': '2.0e-5' },
      1234.5,
      'ms',
      'wall',
    ),
    row(
      'peers',
      'vgg-16 batch 32',
      { impl: 'zeroskip-webgpu auto plan', batch: 32, over: 'onnxruntime-node cpu' },
      12.3,
      '×',
    ),
  ],
};

const sections = TABLES.map((table) => ({ table, results: FAKES[table.id]?.() ?? [] }));
const LAVAPIPE = {
  vendor: 'mesa',
  architecture: 'software',
  device: 'llvmpipe-llvm-15-0-6-256-bits-',
  description: 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1',
};

const tooWide = (text: string) => text.split('\n').filter((l) => l.length > CONSOLE_WIDTH);

/** Each row's line below the rule carries its result and time cells whole. */
function expectFiguresWhole(text: string, results: readonly BenchResult[]): void {
  const lines = text.split('\n');
  const body = lines.slice(lines.findIndex((l) => /^-+ {2}-/.test(l)) + 1);
  expect(body).toHaveLength(results.length);
  results.forEach((r, i) => {
    const [result, time] = figureCells(r);
    expect(body[i]).toContain(`  ${result}`);
    expect(body[i]!.endsWith(time || result)).toBe(true);
  });
}

describe('console report', () => {
  it('has representative results for every table', () => {
    expect(TABLES.filter((t) => !FAKES[t.id]).map((t) => t.id)).toEqual([]);
  });

  it.each(sections)('keeps $table.id within the console width, figures whole', ({ table, results }) => {
    const text = consoleTable(table, results);
    expect(tooWide(text)).toEqual([]);
    expectFiguresWhole(text, results);
    // the per-kernel maps stay in the JSON and markdown reports
    expect(text).not.toContain('conv2d-direct-sparse');
  });

  it('never cuts a figure, whatever the case names and parameters', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            c: fc.string({ minLength: 1, maxLength: 200 }).map((s) => s.replace(/\s/g, '_')),
            p: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 300 })),
            v: fc.double({ min: 1e-6, max: 1e9, noNaN: true }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        (xs) => {
          const results = xs.map((x) => row('t', x.c, x.p, x.v));
          const text = consoleTable({ ...TABLES[0]!, reference: 'x '.repeat(300) }, results);
          expect(tooWide(text)).toEqual([]);
          expectFiguresWhole(text, results);
        },
      ),
      { seed: 7, numRuns: 60 },
    );
  });

  it('labels every quoted figure as a paper or goal', () => {
    for (const { table } of sections) {
      const text = consoleTable(table, []);
      for (const part of table.reference.split('\n').filter((p) => /\d\s?×|≥/.test(p))) {
        expect(part).toMatch(/^(paper \([^)]+\)|goal): /);
        expect(text.split('\n')).toContain(wrap(part)[0]);
      }
    }
  });

  it('closes with headline ratios within the width, and the software-adapter note', () => {
    const text = consoleSummary(sections, LAVAPIPE);
    expect(tooWide(text)).toEqual([]);
    expect(text).toContain(
      `timings on a software adapter (${LAVAPIPE.description}): not representative of a GPU`,
    );
    expect(text).toContain(
      'quantized-nets: bireal-resnet-18 224×224 batch 16 speedup over=resnet-18 224×224: clock=gpu 4.40×, clock=wall 2.10×',
    );
    expect(
      consoleSummary(sections, {
        ...LAVAPIPE,
        vendor: 'nvidia',
        architecture: 'hopper',
        device: 'h100',
        description: 'NVIDIA H100',
      }),
    ).not.toContain('software');
  });
});

describe('softwareAdapterNote', () => {
  it('names lavapipe and SwiftShader, and no hardware adapter', () => {
    expect(softwareAdapterNote(LAVAPIPE)).toMatch(/^timings on a software adapter \(llvmpipe/);
    expect(
      softwareAdapterNote({
        vendor: 'google',
        architecture: '',
        device: 'swiftshader',
        description: 'SwiftShader Device (Subzero)',
      }),
    ).toBe('timings on a software adapter (SwiftShader Device (Subzero)): not representative of a GPU');
    expect(
      softwareAdapterNote({
        vendor: 'nvidia',
        architecture: 'hopper',
        device: '',
        description: 'NVIDIA H100 80GB HBM3',
      }),
    ).toBeUndefined();
    expect(softwareAdapterNote(undefined)).toBeUndefined();
    expect(softwareAdapterNote({ ...LAVAPIPE, description: 'l'.repeat(300) })!.length).toBe(CONSOLE_WIDTH);
  });
});

describe('headlines', () => {
  it('takes the geometric mean over the cases, leaving out entries most cases lack', () => {
    const layers = ['a', 'b', 'c'];
    const speedups = [1.5, 2, 6];
    const results = layers.flatMap((l, i) => [
      row('sparse-conv', l, { batch: 1, sparsity: 0.9, over: 'im2col-gemm' }, speedups[i]!, '×'),
      // a sparsity only one layer was pruned to
      row('sparse-conv', l, { batch: 1, sparsity: 0.7 + i / 100, over: 'im2col-gemm' }, 9, '×'),
      row('sparse-conv', l, { batch: 1, sparsity: 0.9, algorithm: 'direct-sparse' }, 3),
    ]);
    const [h, ...rest] = headlines('sparse-conv', results);
    expect(rest).toEqual([]);
    expect(h!.cases).toBe(3);
    expect(h!.entries.map((e) => e.label)).toEqual(['sparsity=0.9']);
    expect(h!.entries[0]!.value).toBeCloseTo(Math.cbrt(1.5 * 2 * 6), 12);
  });

  it('keeps a line per case where the table says so, and drops what it could not measure', () => {
    const results = [
      row('quantized-nets', 'binarynet batch 1', { over: 'fp32', clock: 'gpu' }, 8, '×'),
      row('quantized-nets', 'binarynet batch 1', { over: 'fp32', clock: 'wall' }, Number.NaN, '×'),
      row('quantized-nets', 'ternarynet batch 1', { over: 'fp32', clock: 'gpu' }, 4, '×'),
    ];
    const lines = headlines('quantized-nets', results);
    expect(lines.map((l) => [l.label, l.cases, l.entries.map((e) => [e.label, e.cases])])).toEqual([
      ['binarynet batch 1 speedup over=fp32', 1, [['clock=gpu', 1]]],
      ['ternarynet batch 1 speedup over=fp32', 1, [['clock=gpu', 1]]],
    ]);
    expect(lines.map((l) => l.entries[0]!.value)).toEqual([expect.closeTo(8, 12), expect.closeTo(4, 12)]);
  });

  it('averages the networks per batch', () => {
    const results = [
      row('networks', 'alexnet batch 1', { plan: 'auto', batch: 1, over: 'dense' }, 2, '×'),
      row('networks', 'vgg-16 batch 1', { plan: 'auto', batch: 1, over: 'dense' }, 0.5, '×'),
      row('networks', 'vgg-16 batch 32', { plan: 'auto', batch: 32, over: 'dense' }, 1.5, '×'),
    ];
    const lines = headlines('networks', results);
    expect(lines.map((l) => [l.cases, l.entries.map((e) => e.label)])).toEqual([
      [2, ['plan=auto']],
      [1, ['plan=auto']],
    ]);
    expect(lines.map((l) => l.entries[0]!.value)).toEqual([expect.closeTo(1, 12), expect.closeTo(1.5, 12)]);
  });
});
