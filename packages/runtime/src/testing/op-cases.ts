import type { Gpu } from '@zeroskip/gpu';
import { expect } from 'vitest';
import type { AttributeValue, GraphNode } from '../graph.js';
import type { OpDef, OutputInfo, ValueInfo } from '../ops/types.js';
import type { Tensor } from '../tensor.js';
import type { PlanMode } from '../webgpu-session.js';
import { expectExecutorsMatchOrt } from './executors.js';
import {
  expectClose,
  initializer,
  input,
  isValue,
  opModel,
  runOrt,
  toTensor,
  type Value,
} from './onnx-graph.js';

// Test support: one op node run by ONNX Runtime, by its OpDef's CPU side and by its GPU side.

/** One input of a test node: fed at run time, or a constant (an initializer, known before running). */
export interface CaseInput {
  readonly value: Value;
  readonly constant?: boolean;
}

/** An attribute of a test node: a plain value, or a tensor as a {@link Value}. */
export type CaseAttr = Exclude<AttributeValue, Tensor> | Value;

export interface OpCase {
  readonly op: string;
  readonly opset: number;
  /**
   * Plain attribute values (numbers named like ONNX float attributes are written as floats), and
   * tensor attributes as values.
   */
  readonly attrs?: Readonly<Record<string, CaseAttr>>;
  /** Inputs in order; undefined for an absent optional input. */
  readonly inputs: readonly (CaseInput | undefined)[];
  /** How many outputs the node has (default 1). */
  readonly outputs?: number;
  /**
   * An ONNX element type that ONNX Runtime's outputs are cast to before they are read, where the
   * op's own output type is one that tests cannot read (float16, int8…).
   */
  readonly widen?: number;
}

/** An input fed at run time. */
export const fed = (value: Value): CaseInput => ({ value });
/** A constant input. */
export const constant = (value: Value): CaseInput => ({ value, constant: true });

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
    attrs: Object.fromEntries(
      Object.entries(c.attrs ?? {}).map(([k, a]) => [k, isValue(a) ? toTensor(a) : a]),
    ),
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

/** The op's shape inference on the case. */
export const inferOp = (def: OpDef, c: OpCase): OutputInfo[] =>
  def.infer(nodeOf(c), infosOf(c), { opset: c.opset });

/** The op's CPU side on the case. */
export const runOp = (def: OpDef, c: OpCase): Tensor[] =>
  def.run(
    nodeOf(c),
    c.inputs.map((v) => v && toTensor(v.value)),
    { opset: c.opset },
  );

/** The case as an ONNX model (the node, then any widening Casts) and the feeds of its non-constant inputs. */
function caseModel(c: OpCase): { bytes: Uint8Array; feeds: Record<string, Value> } {
  const present = c.inputs.flatMap((v, i) => (v ? [[inputName(i), v] as const] : []));
  const { name, inputs } = nodeOf(c);
  const outs = outputNames(c);
  const { widen } = c;
  const bytes = opModel({
    opset: c.opset,
    inputs: present.map(([name, v]) =>
      v.constant ? initializer(name, v.value) : input(name, v.value.dtype, v.value.shape),
    ),
    nodes: [
      {
        op: c.op,
        name,
        inputs,
        outputs: widen === undefined ? outs : outs.map((o) => `${o}_`),
        attrs: c.attrs ?? {},
      },
      ...(widen === undefined
        ? []
        : outs.map((o) => ({ op: 'Cast', inputs: [`${o}_`], outputs: [o], attrs: { to: widen } }))),
    ],
    outputs: outs,
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
 * Expects both executors to match ONNX Runtime on the case, the WebGPU one under each plan mode of
 * `plans` (default auto); with `kernel`, the first of those plans runs the node with it (the plan's
 * name for it; 'cpu' when the GPU side must decline).
 */
export async function expectExecutorsMatchCase(
  gpu: Gpu,
  c: OpCase,
  { kernel, plans, onGpu }: { kernel?: string; plans?: readonly PlanMode[]; onGpu?: boolean } = {},
): Promise<void> {
  const { bytes, feeds } = caseModel(c);
  const seen = await expectExecutorsMatchOrt(gpu, bytes, feeds, plans ? { plans } : {});
  if (kernel !== undefined) expect(seen[0]!.map((e) => e.kernel)).toEqual([kernel]);
  if (onGpu) for (const plan of seen) expect(plan.filter((e) => e.kernel === 'cpu')).toEqual([]);
}

/**
 * Expects the op's CPU side and its shape inference to agree with ONNX Runtime (within
 * tol·max|y| + 1e-5; integers exactly); returns ONNX Runtime's outputs.
 */
export async function expectOpMatchesOrt(def: OpDef, c: OpCase, tol = 1e-4): Promise<Tensor[]> {
  const want = await ortOutputs(c);
  expect(inferOp(def, c).map((o) => [o.shape, o.dtype])).toEqual(want.map((t) => [t.shape, t.dtype]));
  const got = runOp(def, c);
  for (const [i, t] of want.entries()) expectClose(got[i], t, tol);
  return want;
}

/**
 * Expects the op's CPU side and shape inference, then both executors, to match ONNX Runtime, the
 * WebGPU executor running the node with `kernel` ('cpu', the default, where the GPU side declines).
 */
export async function expectOpAndExecutorsMatchOrt(
  gpu: Gpu,
  def: OpDef,
  c: OpCase,
  kernel = 'cpu',
): Promise<void> {
  await expectOpMatchesOrt(def, c);
  await expectExecutorsMatchCase(gpu, c, { kernel });
}
