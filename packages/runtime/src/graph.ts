import type { DType, Tensor } from './tensor.js';

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

/** A constant float32 tensor of the graph (an initializer), or undefined. */
export function constantF32(g: Graph, name: string | undefined): Tensor | undefined {
  const t = name ? g.initializers.get(name) : undefined;
  return t?.dtype === 'float32' ? t : undefined;
}

/** Nodes reading each value, with a graph output counted as a reader of its own; empty (omitted) inputs read nothing. */
export function readersOf(g: Graph): Map<string, (GraphNode | 'output')[]> {
  const readers = new Map<string, (GraphNode | 'output')[]>();
  const add = (v: string, r: GraphNode | 'output') => {
    const list = readers.get(v);
    if (list) list.push(r);
    else readers.set(v, [r]);
  };
  for (const n of g.nodes) for (const i of n.inputs) if (i) add(i, n);
  for (const o of g.outputs) add(o, 'output');
  return readers;
}

/**
 * A maker of value names unused in the graph (inputs, initializers, every node's inputs and outputs):
 * each call returns `hint`, or `hint_1`, `hint_2`, … where it is taken, and takes the name it returns.
 */
export function freshNames(g: Pick<Graph, 'nodes' | 'initializers' | 'inputs'>): (hint: string) => string {
  const taken = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name)]);
  for (const n of g.nodes) for (const v of [...n.inputs, ...n.outputs]) taken.add(v);
  return (hint) => {
    let name = hint;
    for (let k = 1; taken.has(name); k++) name = `${hint}_${k}`;
    taken.add(name);
    return name;
  };
}
