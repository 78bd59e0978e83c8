import { type Compressed, encodeWeight } from '@zeroskip/runtime';

/** Where one layer's stored bits go, in Deep Compression's columns. */
export interface LayerBreakdown {
  readonly layer: string;
  readonly kind: 'conv' | 'fc';
  readonly encoding: string;
  readonly params: number;
  readonly kept: number;
  readonly bytes: number;
  readonly ratio: number;
  readonly indexBits: number;
  readonly weightBits: number;
  readonly codebookBits: number;
  /** Headers, Huffman tables, scales and padding: the rest of the stored bits. */
  readonly otherBits: number;
  /** Bits the layer would take with the same encoding but no Huffman coding, less its stored bits. */
  readonly huffmanSavingBits: number;
}

/** Splits each compressed layer's bytes into index, weight, codebook and other bits. */
export function breakdownOf(c: Compressed): LayerBreakdown[] {
  return c.rows.map((row) => {
    const node = c.graph.nodes.find((n) => n.name === row.layer)!;
    const name = node.inputs[1]!;
    const e = c.encodings.get(name)!;
    // per-weight bit rates in the row are over the kept weights (at least one)
    const kept = Math.max(1, Math.round(row.kept * row.params));
    const indexBits = row.indexBits * kept;
    const weightBits = row.weightBits * kept;
    const codebookBits = e.kind === 'sparse' && e.codebook ? 32 * e.codebook.length : 0;
    const huffmanSavingBits =
      e.kind === 'sparse' && e.huffman
        ? 8 *
          (encodeWeight(c.graph.initializers.get(name)!, { ...e, huffman: false }, name).length - row.bytes)
        : 0;
    return {
      layer: row.layer,
      kind: row.kind,
      encoding: row.encoding,
      params: row.params,
      kept: row.kept,
      bytes: row.bytes,
      ratio: row.ratio,
      indexBits,
      weightBits,
      codebookBits,
      otherBits: Math.max(0, 8 * row.bytes - indexBits - weightBits - codebookBits),
      huffmanSavingBits,
    };
  });
}
