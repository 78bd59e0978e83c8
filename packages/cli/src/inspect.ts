import { type Graph, inferShapes } from '@zeroskip/runtime';

export interface LayerReport {
  readonly node: string;
  readonly op: string;
  readonly weightShape: readonly number[];
  /** The layer's output shape for the model's declared input (static shape inference). */
  readonly outputShape: readonly number[];
  readonly params: number;
  readonly sparsity: number;
  readonly bytes: number;
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
}

/**
 * Layers with weights (Conv, Gemm, MatMul with a constant operand), their size and sparsity, read from
 * the optimized graph `g` (weights behind Identity or Constant nodes resolved); op counts from `source`.
 */
export function inspectGraph(g: Graph, source: Graph = g): ModelReport {
  const ops: Record<string, number> = {};
  for (const n of source.nodes) ops[n.op] = (ops[n.op] ?? 0) + 1;
  const shapes = inferShapes(g);
  const layers: LayerReport[] = [];
  for (const n of g.nodes) {
    const w = ['Conv', 'Gemm', 'MatMul'].includes(n.op) ? g.initializers.get(n.inputs[1] ?? '') : undefined;
    if (w?.dtype !== 'float32') continue;
    let zeros = 0;
    for (const v of w.data) if (v === 0) zeros++;
    const b = g.initializers.get(n.inputs[2] ?? '');
    layers.push({
      node: n.name,
      op: n.op,
      weightShape: w.shape,
      outputShape: shapes.get(n.outputs[0]!)?.shape ?? [],
      params: w.data.length + (b?.data.length ?? 0),
      sparsity: zeros / Math.max(1, w.data.length),
      bytes: 4 * (w.data.length + (b?.data.length ?? 0)),
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
  };
}

export function inspectTable(r: ModelReport): string {
  const lines = [
    `opset ${r.opset}; inputs ${r.inputs.map((i) => `${i.name} [${i.shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]`).join(', ')}; outputs ${r.outputs.join(', ')}`,
    `ops: ${Object.entries(r.ops)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '',
    `${'layer'.padEnd(40)} ${'op'.padEnd(6)} ${'weights'.padEnd(18)} ${'output'.padEnd(18)} ${'params'.padStart(10)} ${'sparsity'.padStart(9)} ${'bytes'.padStart(11)}`,
  ];
  for (const l of r.layers) {
    lines.push(
      `${l.node.slice(0, 40).padEnd(40)} ${l.op.padEnd(6)} ${`[${l.weightShape.join(', ')}]`.padEnd(18)} ${`[${l.outputShape.join(', ')}]`.padEnd(18)} ${String(l.params).padStart(10)} ${(100 * l.sparsity).toFixed(1).padStart(8)}% ${String(l.bytes).padStart(11)}`,
    );
  }
  lines.push(
    '',
    `total: ${r.params} parameters, ${r.nonzeros} non-zero, ${(r.bytes / 1024 / 1024).toFixed(2)} MiB as f32`,
  );
  return lines.join('\n');
}
