import {
  CONV_OPS,
  encodeWeight,
  encodeZsk,
  type Graph,
  optimize,
  type Tensor,
  WEIGHT_LAYER_OPS,
  type WeightEncoding,
} from '@zeroskip/runtime';
import { toGraph } from './export.js';
import type { Model } from './models.js';

/** One weight layer's shared values, in the order of the model's weight layers (Deep Compression). */
export interface SharedCodebook {
  readonly centroids: Float32Array;
}

export interface ZskExportOptions {
  /** Codebooks of a Deep-Compressed model: its layers are stored sparse, shared and Huffman-coded. */
  readonly codebooks?: readonly SharedCodebook[];
  /** Relative-index bits of sparse layers (Deep Compression: 8 for conv, 5 for fc). */
  readonly indexBits?: { readonly conv: number; readonly fc: number };
  readonly meta?: Record<string, unknown>;
}

export interface ZskExport {
  readonly bytes: Uint8Array;
  /** The inference graph the file holds (batch norms folded into thresholds where exact). */
  readonly graph: Graph;
  readonly encodings: ReadonlyMap<string, WeightEncoding>;
  /** Float32 bytes of every constant, and the bytes the file stores them in. */
  readonly denseBytes: number;
  readonly storedBytes: number;
}

const WEIGHT_OPS = new Set([...WEIGHT_LAYER_OPS, 'QuantConv']);

/**
 * The smallest lossless storage of a weight tensor's rows: ±α per row as sign bits ('binary'),
 * {−α, 0, α} as two bit planes ('ternary'), else raw float32.
 */
function losslessEncoding(t: Tensor): WeightEncoding {
  const rows = t.shape[0] ?? 1;
  const per = t.data.length / rows;
  let binary = true;
  let ternary = true;
  for (let r = 0; r < rows && ternary; r++) {
    let alpha = 0;
    for (let i = r * per; i < (r + 1) * per; i++) {
      const a = Math.abs(t.data[i]! as number);
      if (a === 0) binary = false;
      else if (alpha === 0) alpha = a;
      else if (a !== alpha) binary = ternary = false;
    }
  }
  return binary ? { kind: 'binary' } : ternary ? { kind: 'ternary' } : { kind: 'raw' };
}

/**
 * Writes a trained model as a .zsk file: the exported graph, optimized as the runtime runs it, with
 * every weight layer in its smallest exact storage (packed bits for binary and ternary layers, a
 * shared codebook with sparse Huffman-coded indices for Deep-Compressed ones).
 */
export function toZsk(model: Model, options: ZskExportOptions = {}): ZskExport {
  const graph = optimize(toGraph(model));
  const encodings = new Map<string, WeightEncoding>();
  const weights = graph.nodes.filter((n) => WEIGHT_OPS.has(n.op) && graph.initializers.has(n.inputs[1]!));
  weights.forEach((node, i) => {
    const name = node.inputs[1]!;
    const w = graph.initializers.get(name)!;
    const shared = options.codebooks?.[i];
    const kind = CONV_OPS.has(node.op) || node.op === 'QuantConv' ? 'conv' : 'fc';
    encodings.set(
      name,
      shared
        ? {
            kind: 'sparse',
            indexBits: (options.indexBits ?? { conv: 8, fc: 5 })[kind],
            huffman: true,
            codebook: shared.centroids,
          }
        : losslessEncoding(w),
    );
  });
  let denseBytes = 0;
  let storedBytes = 0;
  for (const [name, t] of graph.initializers) {
    denseBytes += 4 * t.data.length;
    const e = encodings.get(name);
    storedBytes += e ? encodeWeight(t, e, name).length : 4 * t.data.length;
  }
  const bytes = encodeZsk(graph, encodings, { model: model.name, ...options.meta });
  return { bytes, graph, encodings, denseBytes, storedBytes };
}
