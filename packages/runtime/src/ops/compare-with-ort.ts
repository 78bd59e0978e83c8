import type { Gpu } from '@zeroskip/gpu';
import { expect } from 'vitest';
import type { AttributeValue, GraphNode } from '../graph.js';
import type { Tensor } from '../tensor.js';
import { expectExecutorsMatchOrt } from '../testing/executors.js';
import {
  expectClose,
  initializer,
  input,
  opModel,
  runOrt,
  toTensor,
  type Value,
} from '../testing/onnx-graph.js';
import type { OpDef, ValueInfo } from './types.js';

// Test support: one op node run by ONNX Runtime, by its OpDef's CPU side and by its GPU side.

/** One input of a test node: fed at run time, or a constant (an initializer, known before running). */
export interface CaseInput {
  readonly value: Value;
  readonly constant?: boolean;
}

export interface OpCase {
  readonly op: string;
  readonly opset: number;
  /** Plain attribute values (numbers named like ONNX float attributes are written as floats). */
  readonly attrs?: Readonly<Record<string, Exclude<AttributeValue, Tensor>>>;
  /** Inputs in order; undefined for an absent optional input. */
  readonly inputs: readonly (CaseInput | undefined)[];
  /** How many outputs the node has (default 1). */
  readonly outputs?: number;
}

/** Seeded pseudo-random values in [lo, hi). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return lo + (hi - lo) * (s / 2 ** 32);
  });
}

const inputName = (i: number) => `in${i}`;
const outputNames = (c: OpCase) => Array.from({ length: c.outputs ?? 1 }, (_, i) => `out${i}`);

/** The node as the runtime sees it. */
export function nodeOf(c: OpCase): GraphNode {
  const inputs = c.inputs.map((v, i) => (v ? inputName(i) : ''));
  // absent trailing inputs are left out, as exporters do (ONNX Runtime crashes on some ops otherwise)
  while (inputs.at(-1) === '') inputs.pop();
  return {
    op: c.op,
    name: `${c.op.toLowerCase()}_0`,
    inputs,
    outputs: outputNames(c),
    attrs: { ...c.attrs },
  };
}

/** What is known of the inputs before running. */
export function infosOf(c: OpCase): (ValueInfo | undefined)[] {
  return c.inputs.map((v) => {
    if (!v) return undefined;
    const t = toTensor(v.value);
    return v.constant ? { shape: t.shape, dtype: t.dtype, value: t } : { shape: t.shape, dtype: t.dtype };
  });
}

/** The case as a single-node ONNX model and the feeds of its non-constant inputs. */
function caseModel(c: OpCase): { bytes: Uint8Array; feeds: Record<string, Value> } {
  const present = c.inputs.flatMap((v, i) => (v ? [[inputName(i), v] as const] : []));
  const bytes = opModel({
    opset: c.opset,
    op: c.op,
    name: nodeOf(c).name,
    inputs: present.map(([name, v]) =>
      v.constant ? initializer(name, v.value) : input(name, v.value.dtype, v.value.shape),
    ),
    nodeInputs: nodeOf(c).inputs,
    outputs: outputNames(c),
    attrs: c.attrs ?? {},
  });
  const feeds = Object.fromEntries(
    present.filter(([, v]) => !v.constant).map(([name, v]) => [name, v.value]),
  );
  return { bytes, feeds };
}

/** ONNX Runtime's outputs of the case, in order. */
export async function ortOutputs(c: OpCase): Promise<Tensor[]> {
  const { bytes, feeds } = caseModel(c);
  const out = await runOrt(bytes, feeds);
  return outputNames(c).map((name) => out[name]!);
}

/**
 * Expects both executors to match ONNX Runtime on the case, the WebGPU one running the node with
 * `kernel` (the plan's name for it; 'cpu' when the GPU side must decline).
 */
export async function expectExecutorsMatchCase(gpu: Gpu, c: OpCase, kernel: string): Promise<void> {
  const { bytes, feeds } = caseModel(c);
  const [plan] = await expectExecutorsMatchOrt(gpu, bytes, feeds);
  expect(plan!.map((e) => e.kernel)).toEqual([kernel]);
}

/**
 * Expects the op's CPU side and its shape inference to agree with ONNX Runtime (within
 * tol·max|y| + 1e-5; integers exactly); returns ONNX Runtime's outputs.
 */
export async function expectOpMatchesOrt(def: OpDef, c: OpCase, tol = 1e-4): Promise<Tensor[]> {
  const want = await ortOutputs(c);
  const node = nodeOf(c);
  const ctx = { opset: c.opset };
  const inferred = def.infer(node, infosOf(c), ctx);
  expect(inferred.map((o) => [o.shape, o.dtype])).toEqual(want.map((t) => [t.shape, t.dtype]));
  const got = def.run(
    node,
    c.inputs.map((v) => v && toTensor(v.value)),
    ctx,
  );
  for (const [i, t] of want.entries()) expectClose(got[i], t, tol);
  return want;
}
