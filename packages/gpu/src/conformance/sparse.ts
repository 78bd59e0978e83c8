import { kmeansShare } from '@zeroskip/quant';
import { type CsrMatrix, denseToCsr } from '@zeroskip/sparse';
import type { Gpu } from '../device.js';
import { type ConvParams, convGeometry } from '../geometry.js';
import { encodeDirectSparseConv, encodeIm2colSpmmConv, encodePad } from '../kernels/sparse-conv.js';
import { encodeSparseFc } from '../kernels/sparse-fc.js';
import {
  encodeSparseTiledConv,
  sparseRowOrder,
  sparseTiling,
  tiledPadGeometry,
} from '../kernels/sparse-tiled-conv.js';
import type { ValueSource } from '../kernels/values.js';
import { conv2dReference, fcReference } from '../reference.js';
import { codeWidth, packCodes, stretchOffsets } from '../sparse-weights.js';
import type { GpuTensor } from '../tensor.js';
import type { Activation } from '../wgsl.js';
import { assertClose } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';
import { randomConvCases } from './dense.js';

const SPARSITIES = [0, 0.5, 0.9, 0.99, 1];

/** Weights at a sparsity, as f32 CSR or as 4-bit shared weights (k-means) with packed codes. */
function sparseWeights(
  g: Gpu,
  rows: number,
  cols: number,
  sparsity: number,
  seed: number,
  kind: ValueSource['kind'],
) {
  let dense = randomArray(rows * cols, seed, sparsity);
  let values: GpuTensor[];
  let source: ValueSource;
  if (kind === 'codebook') {
    const shared = kmeansShare(dense, { bits: 4 });
    dense = shared.weights;
    const codes = shared.indices.filter((c) => c >= 0);
    const bits = codeWidth(shared.codebook.length);
    const packed = packCodes(codes, bits);
    values = [g.tensor([packed.length], packed), g.tensor([shared.codebook.length], shared.codebook)];
    source = { kind: 'codebook', size: shared.codebook.length, bits };
  } else {
    source = { kind: 'f32' };
    values = [];
  }
  const csr: CsrMatrix = denseToCsr({ rows, cols, data: dense });
  if (kind === 'f32') values = [g.tensor([csr.values.length], csr.values)];
  return {
    dense,
    csr,
    values,
    source,
    rowPtr: g.tensor([rows + 1], csr.rowPtr),
    colIdx: g.tensor([csr.colIdx.length], csr.colIdx),
  };
}

async function checkSparseConv(
  g: Gpu,
  x4: [number, number, number, number],
  o: number,
  k: [number, number],
  p: ConvParams,
  act: Activation,
  kind: ValueSource['kind'],
): Promise<void> {
  const geo = convGeometry(x4, [o, x4[1] / (p.groups ?? 1), ...k], p);
  const x = randomArray(
    x4.reduce((a, b) => a * b),
    3,
  );
  const bias = randomArray(o, 4);
  const xt = g.tensor(x4, x);
  const biasT = g.tensor([o], bias);
  const xp = g.empty([geo.n, geo.c, geo.h + geo.pt + geo.pb, geo.w + geo.pl + geo.pr]);
  const cols = g.empty([geo.groups * geo.k * geo.n * geo.ho * geo.wo]);
  for (const sparsity of SPARSITIES) {
    const w = sparseWeights(g, o, geo.k, sparsity, 7, kind);
    const want = conv2dReference(geo, x, w.dense, bias, act);
    const offsets = g.tensor([w.csr.colIdx.length], stretchOffsets(w.csr, geo));
    const y1 = g.empty([geo.n, o, geo.ho, geo.wo]);
    const y2 = g.empty([geo.n, o, geo.ho, geo.wo]);
    const y3 = g.empty([geo.n, o, geo.ho, geo.wo]);
    const tiling = sparseTiling(geo, w.csr.values.length / o);
    const pad = tiledPadGeometry(geo, tiling);
    const xpTiled = g.empty([geo.n, geo.c, pad.h + pad.pt + pad.pb, pad.w + pad.pl + pad.pr]);
    const order = sparseRowOrder(w.csr);
    const orderT = g.tensor([order.length], order);
    const offsetsTiled = g.tensor([w.csr.colIdx.length], stretchOffsets(w.csr, pad));
    await g.submit((r) => {
      encodePad(r, xt, xpTiled, pad);
      encodeSparseTiledConv(
        r,
        {
          xp: xpTiled,
          rowPtr: w.rowPtr,
          order: orderT,
          offsets: offsetsTiled,
          values: w.values,
          bias: biasT,
          y: y3,
        },
        geo,
        w.source,
        act,
        tiling,
      );
      encodePad(r, xt, xp, geo);
      encodeDirectSparseConv(
        r,
        { xp, rowPtr: w.rowPtr, offsets, values: w.values, bias: biasT, y: y1 },
        geo,
        w.source,
        act,
      );
      encodeIm2colSpmmConv(
        r,
        { x: xt, rowPtr: w.rowPtr, colIdx: w.colIdx, values: w.values, bias: biasT, y: y2 },
        cols,
        geo,
        w.source,
        act,
      );
    });
    assertClose(await g.read(y1), want, 1e-5, 1e-5, `direct sparse conv at sparsity ${sparsity}`);
    assertClose(await g.read(y2), want, 1e-5, 1e-5, `im2col + CSR SpMM at sparsity ${sparsity}`);
    assertClose(await g.read(y3), want, 1e-5, 1e-5, `tiled sparse conv at sparsity ${sparsity}`);
  }
}

async function checkSparseFc(g: Gpu, batch: number, kind: ValueSource['kind']): Promise<void> {
  const [k, outputs] = [301, 37];
  const x = randomArray(batch * k, 11);
  const bias = randomArray(outputs, 12);
  const xt = g.tensor([batch, k], x);
  const biasT = g.tensor([outputs], bias);
  for (const sparsity of SPARSITIES) {
    const w = sparseWeights(g, outputs, k, sparsity, 13, kind);
    const y = g.empty([batch, outputs]);
    await g.submit((r) =>
      encodeSparseFc(
        r,
        { x: xt, rowPtr: w.rowPtr, colIdx: w.colIdx, values: w.values, bias: biasT, y },
        batch,
        k,
        outputs,
        w.source,
        'relu',
      ),
    );
    assertClose(
      await g.read(y),
      fcReference(x, batch, w.dense, outputs, bias, 'relu'),
      1e-5,
      1e-5,
      `sparse FC at sparsity ${sparsity}`,
    );
  }
}

const conv = (name: string, run: (g: Gpu) => Promise<void>): ConformanceCase => ({
  group: 'sparse conv (sparsity 0, 0.5, 0.9, 0.99, 1)',
  name,
  run,
});

export const sparseCases: ConformanceCase[] = [
  conv('odd sizes, C not a multiple of 4, pad 1, batch 1, f32 values', (g) =>
    checkSparseConv(g, [1, 5, 9, 11], 6, [3, 3], { pads: [1, 1, 1, 1] }, 'relu', 'f32'),
  ),
  conv('stride 2, pad 2, batch 3, 70 output channels', (g) =>
    checkSparseConv(g, [3, 7, 13, 10], 70, [3, 3], { stride: [2, 2], pads: [2, 2, 2, 2] }, 'none', 'f32'),
  ),
  conv('dilation 2, asymmetric pads, batch 5 (two image chunks)', (g) =>
    checkSparseConv(g, [5, 3, 12, 9], 4, [3, 3], { dilation: [2, 2], pads: [0, 2, 1, 0] }, 'relu6', 'f32'),
  ),
  conv('groups, pad 0, codebook values (4-bit shared weights)', (g) =>
    checkSparseConv(g, [3, 8, 7, 7], 12, [3, 3], { groups: 2 }, 'relu', 'codebook'),
  ),
  ...randomConvCases(3, 7).map((c, i) =>
    conv(`random shape ${i + 1}: x [${c.x}] → ${c.o}, ${c.k.join('×')}, ${JSON.stringify(c.p)}`, (g) =>
      checkSparseConv(g, c.x, c.o, c.k, c.p, c.act, i === 2 ? 'codebook' : 'f32'),
    ),
  ),
  ...(
    [
      [1, 'f32'],
      [3, 'f32'],
      [6, 'codebook'],
    ] as const
  ).map(([batch, kind]) => ({
    group: 'sparse FC (sparsity 0, 0.5, 0.9, 0.99, 1)',
    name: `batch ${batch}, ${kind} values`,
    run: (g: Gpu) => checkSparseFc(g, batch, kind),
  })),
];
