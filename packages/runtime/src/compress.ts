import {
  binarizeXnorWeights,
  dorefaWeights,
  kmeansShare,
  pruneByRate,
  pruneGlobal,
  ternarizeExact,
} from '@zeroskip/quant';
import { RuntimeError } from './errors.js';
import type { Graph, GraphNode } from './graph.js';
import { float32, sizeOf, type Tensor } from './tensor.js';
import { decodeWeight, encodeWeightWithSizes, type WeightEncoding } from './weight-encoding.js';

export interface CompressOptions {
  /** Pruned fraction of every weight layer (per layer, or one threshold across layers with `pruneGlobal`). */
  readonly prune?: number;
  readonly pruneGlobal?: boolean;
  /** Pruned fraction per layer (node name), e.g. Deep Compression's table; overrides `prune`. */
  readonly pruneTable?: Readonly<Record<string, number>>;
  /** k-means weight sharing: bits for every layer, or per kind. */
  readonly cluster?: number | { readonly conv?: number; readonly fc?: number };
  readonly huffman?: boolean;
  /** Relative-index bits per kind (Deep Compression: 8 for conv, 5 for fc). */
  readonly indexBits?: { readonly conv: number; readonly fc: number };
  /** Layers (node names, or 'all') to binarize (XNOR-Net, α per output channel) or ternarize (TWN, exact Δ*). */
  readonly binarize?: readonly string[] | 'all';
  readonly ternary?: readonly string[] | 'all';
  /** DoReFa k-bit weights on every layer (activation bits are recorded in the metadata). */
  readonly dorefa?: { readonly weights: number; readonly activations: number };
  /** Quantize the first and last weight layers too (default: they stay full precision, as in the papers). */
  readonly quantizeFirstLast?: boolean;
  /** Called after each layer (for a progress bar). */
  readonly onProgress?: (done: number, total: number, layer: string) => void;
}

/** One row of the Deep Compression style table. */
export interface LayerRow {
  readonly layer: string;
  readonly kind: 'conv' | 'fc';
  readonly params: number;
  /** Fraction of weights kept (non-zero). */
  readonly kept: number;
  readonly encoding: WeightEncoding['kind'];
  /** Stored bits per kept weight for its value, and for its position. */
  readonly weightBits: number;
  readonly indexBits: number;
  readonly bytes: number;
  /** Dense f32 bytes / stored bytes. */
  readonly ratio: number;
}

export interface Compressed {
  /** The model with its weights as the .zsk file will hold them (pruned, shared, binarized, …). */
  readonly graph: Graph;
  readonly encodings: Map<string, WeightEncoding>;
  readonly rows: LayerRow[];
  readonly total: {
    readonly params: number;
    readonly denseBytes: number;
    readonly bytes: number;
    readonly ratio: number;
  };
  readonly meta: Record<string, unknown>;
}

interface WeightLayer {
  readonly node: GraphNode;
  readonly name: string;
  readonly kind: 'conv' | 'fc';
  readonly w: Tensor;
}

/** Ops whose input 1 is a float conv's OIHW weights. */
export const CONV_OPS: ReadonlySet<string> = new Set(['Conv', 'ConvPoolSign', 'PoolConv']);

/** The weight layers compressModel compresses: the convs, and the FC ops; their weights are input 1. */
export const WEIGHT_LAYER_OPS: ReadonlySet<string> = new Set([...CONV_OPS, 'Gemm', 'MatMul']);

function weightLayers(g: Graph): WeightLayer[] {
  return g.nodes.flatMap((node) => {
    if (!WEIGHT_LAYER_OPS.has(node.op)) return [];
    const name = node.inputs[1]!;
    const w = g.initializers.get(name);
    return w && w.dtype === 'float32'
      ? [{ node, name, kind: CONV_OPS.has(node.op) ? ('conv' as const) : ('fc' as const), w }]
      : [];
  });
}

const selected = (list: readonly string[] | 'all' | undefined, layer: WeightLayer) =>
  list === 'all' || (list?.includes(layer.node.name) ?? false);

/** Prunes, shares, entropy-codes or binarizes the weight layers of an (optimized) graph. */
export function compressModel(g: Graph, options: CompressOptions): Compressed {
  const layers = weightLayers(g);
  if (layers.length === 0)
    throw new RuntimeError(
      'invalid-model',
      'the model has no Conv, Gemm or MatMul layer with constant float weights to compress.',
    );
  for (const name of [
    ...Object.keys(options.pruneTable ?? {}),
    ...(Array.isArray(options.binarize) ? options.binarize : []),
    ...(Array.isArray(options.ternary) ? options.ternary : []),
  ]) {
    if (!layers.some((l) => l.node.name === name))
      throw new RuntimeError(
        'invalid-argument',
        `no weight layer is named '${name}'; the layers are ${layers.map((l) => l.node.name).join(', ')}.`,
      );
  }
  const edge = (i: number) => !options.quantizeFirstLast && (i === 0 || i === layers.length - 1);
  const indexBits = options.indexBits ?? { conv: 8, fc: 5 };
  const clusterBits = (l: WeightLayer) =>
    typeof options.cluster === 'number' ? options.cluster : options.cluster?.[l.kind];
  const initializers = new Map(g.initializers);
  const encodings = new Map<string, WeightEncoding>();

  // pruning first, so that a global threshold sees every layer that stays in floating point
  const floatLayers = layers.filter(
    (l, i) => edge(i) || !(selected(options.binarize, l) || selected(options.ternary, l) || options.dorefa),
  );
  const pruned = new Map<WeightLayer, Float32Array>();
  if (options.pruneGlobal && options.prune !== undefined) {
    const results = pruneGlobal(
      floatLayers.map((l) => l.w.data as Float32Array),
      options.prune,
    );
    for (const [i, r] of results.entries()) pruned.set(floatLayers[i]!, r.weights);
  } else {
    for (const l of floatLayers) {
      const rate = options.pruneTable?.[l.node.name] ?? options.prune;
      pruned.set(
        l,
        rate === undefined ? (l.w.data as Float32Array) : pruneByRate(l.w.data as Float32Array, rate).weights,
      );
    }
  }

  const storedBytes = new Map<string, number>();
  const rows: LayerRow[] = layers.map((l, i) => {
    const [o] = l.w.shape as [number];
    const rest = sizeOf(l.w.shape) / o;
    let data: Float32Array;
    let e: WeightEncoding;
    if (!edge(i) && selected(options.binarize, l)) {
      data = binarizeXnorWeights(l.w.data as Float32Array, [o, rest, 1, 1]).weights;
      e = { kind: 'binary' };
    } else if (!edge(i) && selected(options.ternary, l)) {
      data = ternarizeExact(l.w.data as Float32Array).weights;
      e = { kind: 'ternary' };
    } else if (!edge(i) && options.dorefa) {
      const q = dorefaWeights(l.w.data as Float32Array, options.dorefa.weights);
      const w = l.w.data as Float32Array;
      let wq = 0;
      let qq = 0;
      q.forEach((v, j) => {
        wq += v * w[j]!;
        qq += v * v;
      });
      const s = qq === 0 ? 1 : Math.abs(wq / qq);
      data = q.map((v) => v * s);
      e = { kind: 'dorefa', bits: options.dorefa.weights };
    } else {
      data = pruned.get(l)!;
      const bits = clusterBits(l);
      const sparse = data.some((v) => v === 0) || bits !== undefined || options.huffman === true;
      let codebook: Float32Array | undefined;
      if (bits !== undefined) {
        const shared = kmeansShare(data, { bits });
        data = shared.weights;
        codebook = shared.codebook;
      }
      e = sparse
        ? {
            kind: 'sparse',
            indexBits: indexBits[l.kind],
            huffman: options.huffman === true,
            ...(codebook ? { codebook } : {}),
          }
        : { kind: 'raw' };
    }
    // store, and keep exactly what a reader of the file will get back
    const enc = encodeWeightWithSizes(float32(l.w.shape, data), e, l.name);
    const stored = decodeWeight(enc.bytes, 'float32', l.w.shape, e, Number.MAX_SAFE_INTEGER);
    initializers.set(l.name, stored);
    encodings.set(l.name, e);
    storedBytes.set(l.name, enc.bytes.length);
    let nnz = 0;
    for (const v of stored.data) if (v !== 0) nnz++;
    const per = Math.max(nnz, 1);
    options.onProgress?.(i + 1, layers.length, l.node.name);
    return {
      layer: l.node.name,
      kind: l.kind,
      params: stored.data.length,
      kept: nnz / stored.data.length,
      encoding: e.kind,
      weightBits: enc.valueBits / per,
      indexBits: enc.indexBits / per,
      bytes: enc.bytes.length,
      ratio: (4 * stored.data.length) / enc.bytes.length,
    };
  });

  const graph = { ...g, initializers };
  const denseBytes = [...g.initializers.values()].reduce((n, t) => n + 4 * t.data.length, 0);
  const bytes = [...initializers].reduce(
    (n, [name, t]) => n + (storedBytes.get(name) ?? 4 * t.data.length),
    0,
  );
  return {
    graph,
    encodings,
    rows,
    total: { params: rows.reduce((n, r) => n + r.params, 0), denseBytes, bytes, ratio: denseBytes / bytes },
    meta: { compression: { ...options, onProgress: undefined }, layers: rows },
  };
}
