import {
  encodeWeight,
  type Graph,
  type GraphNode,
  inferShapes,
  WEIGHT_LAYER_OPS,
  type WeightEncoding,
} from '@zeroskip/runtime';

export interface LayerReport {
  readonly node: string;
  readonly op: string;
  readonly weightShape: readonly number[];
  /** The layer's output shape for the model's declared input (static shape inference). */
  readonly outputShape: readonly number[];
  readonly params: number;
  readonly sparsity: number;
  /** How the weights are held: float, sparse, binary, ternary, DoReFa k-bit, and a QuantConv's activations. */
  readonly kind: string;
  /** Bytes of weights and bias as float32, and as the file stores them. */
  readonly bytes: number;
  readonly storedBytes: number;
}

export interface ModelReport {
  readonly opset: number;
  readonly inputs: { name: string; shape: number[] }[];
  readonly outputs: readonly string[];
  readonly ops: Record<string, number>;
  readonly layers: LayerReport[];
  readonly params: number;
  readonly nonzeros: number;
  readonly bytes: number;
  readonly storedBytes: number;
}

const WEIGHT_OPS = new Set([...WEIGHT_LAYER_OPS, 'QuantConv']);

/** A layer's quantization, as its attributes (QuantConv) and its stored encoding say. */
function layerKind(n: GraphNode, e: WeightEncoding | undefined): string {
  const bits = (k: string) => `${n.attrs[k]}-bit`;
  if (n.op === 'QuantConv') {
    const w = n.attrs.weights === 'bits' ? bits('weight_bits') : String(n.attrs.weights);
    const a = n.attrs.activations === 'bits' ? bits('activation_bits') : String(n.attrs.activations);
    return `${w} × ${a}`;
  }
  return !e || e.kind === 'raw' ? 'float' : e.kind === 'dorefa' ? `${e.bits}-bit` : e.kind;
}

/**
 * Layers with weights (Conv, Gemm, MatMul with a constant operand, QuantConv), their size, sparsity and
 * quantization, read from the optimized graph `g` (weights behind Identity or Constant nodes resolved);
 * op counts from `source`. With a .zsk file's `encodings`, stored bytes are what the file holds.
 */
export function inspectGraph(
  g: Graph,
  source: Graph = g,
  encodings: ReadonlyMap<string, WeightEncoding> = new Map(),
): ModelReport {
  const ops: Record<string, number> = {};
  for (const n of source.nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
  const shapes = inferShapes(g);
  const layers: LayerReport[] = [];
  for (const n of g.nodes) {
    const w = WEIGHT_OPS.has(n.op) ? g.initializers.get(n.inputs[1] ?? '') : undefined;
    if (w?.dtype !== 'float32') continue;
    let zeros = 0;
    for (const v of w.data) if (v === 0) zeros++;
    const b = n.op === 'QuantConv' ? undefined : g.initializers.get(n.inputs[2] ?? '');
    const e = encodings.get(n.inputs[1]!);
    const biasBytes = 4 * (b?.data.length ?? 0);
    layers.push({
      node: n.name,
      op: n.op,
      weightShape: w.shape,
      outputShape: shapes.get(n.outputs[0]!)?.shape ?? [],
      params: w.data.length + (b?.data.length ?? 0),
      sparsity: zeros / Math.max(1, w.data.length),
      kind: layerKind(n, e),
      bytes: 4 * w.data.length + biasBytes,
      storedBytes: (e ? encodeWeight(w, e, n.inputs[1]!).length : 4 * w.data.length) + biasBytes,
    });
  }
  const params = layers.reduce((s, l) => s + l.params, 0);
  return {
    opset: g.opset,
    inputs: g.inputs.map((i) => ({ name: i.name, shape: [...i.shape] })),
    outputs: g.outputs,
    ops,
    layers,
    params,
    nonzeros: Math.round(layers.reduce((s, l) => s + l.params * (1 - l.sparsity), 0)),
    bytes: layers.reduce((s, l) => s + l.bytes, 0),
    storedBytes: layers.reduce((s, l) => s + l.storedBytes, 0),
  };
}

/** The report as text, its first column as wide as the longest layer name. */
export function inspectTable(r: ModelReport): string {
  const width = Math.max('layer'.length, ...r.layers.map((l) => l.node.length));
  const opWidth = Math.max('op'.length, ...r.layers.map((l) => l.op.length));
  const lines = [
    `opset ${r.opset}; inputs ${r.inputs.map((i) => `${i.name} [${i.shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]`).join(', ')}; outputs ${r.outputs.join(', ')}`,
    `ops: ${Object.entries(r.ops)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    `${'layer'.padEnd(width)} ${'op'.padEnd(opWidth)} ${'kind'.padEnd(16)} ${'weights'.padEnd(18)} ${'output'.padEnd(18)} ${'params'.padStart(10)} ${'sparsity'.padStart(9)} ${'f32 bytes'.padStart(11)} ${'stored'.padStart(11)}`,
  ];
  for (const l of r.layers) {
    lines.push(
      `${l.node.padEnd(width)} ${l.op.padEnd(opWidth)} ${l.kind.padEnd(16)} ${`[${l.weightShape.join(', ')}]`.padEnd(18)} ${`[${l.outputShape.join(', ')}]`.padEnd(18)} ${String(l.params).padStart(10)} ${(100 * l.sparsity).toFixed(1).padStart(8)}% ${String(l.bytes).padStart(11)} ${String(l.storedBytes).padStart(11)}`,
    );
  }
  lines.push(
    '',
    `total: ${r.params} parameters, ${r.nonzeros} non-zero, ${(r.bytes / 1024 / 1024).toFixed(2)} MiB as f32, ${(r.storedBytes / 1024 / 1024).toFixed(3)} MiB stored (${(r.bytes / Math.max(1, r.storedBytes)).toFixed(1)}× smaller)`,
  );
  return lines.join('\n');
}
