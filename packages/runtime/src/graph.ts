import { RuntimeError } from './errors.js';
import { isSupportedOp, SUPPORTED_OPS } from './ops/registry.js';
import type { DType, Tensor } from './tensor.js';
import { unsupportedOpsError } from './unsupported.js';

export type AttributeValue = number | string | number[] | string[] | Tensor;

/** One operation: ONNX's op type, inputs and outputs by value name ('' for an absent optional input). */
export interface GraphNode {
  readonly op: string;
  readonly name: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attrs: Record<string, AttributeValue>;
}

export interface GraphInput {
  readonly name: string;
  /** Sizes; a symbolic or unknown dimension is -1. */
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** A model: nodes in topological order, constant tensors by name, graph inputs and outputs. */
export interface Graph {
  readonly nodes: GraphNode[];
  readonly initializers: Map<string, Tensor>;
  readonly inputs: GraphInput[];
  readonly outputs: string[];
  readonly opset: number;
}

export function attrNumber(n: GraphNode, key: string, fallback: number): number {
  const v = n.attrs[key];
  return typeof v === 'number' ? v : fallback;
}

export function attrNumbers(n: GraphNode, key: string): number[] | undefined {
  const v = n.attrs[key];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

export function attrString(n: GraphNode, key: string, fallback: string): string {
  const v = n.attrs[key];
  return typeof v === 'string' ? v : fallback;
}

/** Checks that every op is supported and every value is defined before it is read (topological order). */
export function validateGraph(g: Pick<Graph, 'nodes' | 'initializers' | 'inputs' | 'outputs'>): void {
  const known = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name), '']);
  const unsupported = unsupportedOpsError(g.nodes, isSupportedOp, SUPPORTED_OPS);
  if (unsupported) throw unsupported;
  for (const n of g.nodes) {
    for (const input of n.inputs) {
      if (!known.has(input))
        throw new RuntimeError(
          'invalid-model',
          `node '${n.name}' reads '${input}', which no earlier node, input or initializer defines (the graph must be topologically sorted).`,
        );
    }
    for (const output of n.outputs) known.add(output);
  }
  for (const o of g.outputs)
    if (!known.has(o)) throw new RuntimeError('invalid-model', `graph output '${o}' is never computed.`);
}
