import type { Gpu } from '@zeroskip/gpu';
import { expect } from 'vitest';
import { runCpu } from '../cpu-session.js';
import type { Graph } from '../graph.js';
import { importOnnx } from '../onnx.js';
import { exportOnnx } from '../onnx-export.js';
import { optimize } from '../passes.js';
import type { Tensor } from '../tensor.js';
import { type PlanEntry, type PlanMode, WebGpuSession } from '../webgpu-session.js';
import { expectClose, runOrt, toTensor, type Value } from './onnx-graph.js';

/**
 * Runs an ONNX model in ONNX Runtime, then optimized: on the CPU executor, exported back to ONNX and
 * run in ONNX Runtime, and on WebGPU under each plan mode with no node falling back to the CPU,
 * expecting every output to match ONNX Runtime's on the raw model. Returns the optimized graph.
 */
export async function expectOptimizedMatchesOrt(
  gpu: Gpu,
  bytes: Uint8Array,
  feeds: Readonly<Record<string, Value>>,
  plans: readonly PlanMode[] = ['auto'],
): Promise<Graph> {
  const want = await runOrt(bytes, feeds);
  const g = optimize(importOnnx(bytes));
  const inputs = tensorsOf(feeds);
  const cpu = runCpu(g, inputs);
  const exported = await runOrt(exportOnnx(g), feeds);
  for (const [name, t] of Object.entries(want)) {
    expectClose(cpu[name], t, 1e-4);
    expectClose(exported[name], t, 1e-4);
  }
  for (const plan of plans) {
    const session = await WebGpuSession.create(g, { gpu, plan });
    try {
      expect(session.plan.filter((p) => p.kernel === 'cpu')).toEqual([]);
      const got = await session.run(inputs);
      for (const [name, t] of Object.entries(want)) expectClose(got[name], t, 1e-4);
    } finally {
      session.destroy();
    }
  }
  return g;
}

function tensorsOf(feeds: Readonly<Record<string, Value>>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toTensor(v)]));
}

/**
 * Runs an ONNX model in ONNX Runtime, then through import and both executors (the CPU one, and the
 * WebGPU one under each plan mode), expecting every output to match ONNX Runtime's. Returns the
 * WebGPU plans, so that tests can also check what ran where.
 */
export async function expectExecutorsMatchOrt(
  gpu: Gpu,
  bytes: Uint8Array,
  feeds: Readonly<Record<string, Value>>,
  { tol = 1e-4, plans = ['auto'] }: { tol?: number; plans?: readonly PlanMode[] } = {},
): Promise<PlanEntry[][]> {
  const want = await runOrt(bytes, feeds);
  const g = importOnnx(bytes);
  const inputs = tensorsOf(feeds);
  const cpu = runCpu(g, inputs);
  for (const [name, t] of Object.entries(want)) expectClose(cpu[name], t, tol);
  const seen: PlanEntry[][] = [];
  for (const plan of plans) {
    const session = await WebGpuSession.create(g, { gpu, plan });
    try {
      const got = await session.run(inputs);
      for (const [name, t] of Object.entries(want)) expectClose(got[name], t, tol);
      seen.push(session.plan);
    } finally {
      session.destroy();
    }
  }
  return seen;
}

/** Compiles and runs a graph of input `x` and output `y` on the GPU; its output and its first node's kernel. */
export async function runFirstKernel(
  gpu: Gpu,
  graph: Graph,
  x: Tensor,
  plan?: PlanMode,
): Promise<{ y: Float32Array; kernel: string | undefined }> {
  const session = await WebGpuSession.create(graph, { gpu, ...(plan ? { plan } : {}) });
  try {
    await session.compile({ x });
    const y = (await session.run({ x })).y!.data as Float32Array;
    return { y, kernel: session.plan[0]?.kernel };
  } finally {
    session.destroy();
  }
}

/** Whether two views hold the same bytes: bit-for-bit equality of outputs, NaN payloads and −0 included. */
export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

/**
 * Runs `g` once on WebGPU (auto plan) from host tensors: the kernel of each planned node at these
 * input shapes, and every graph output's values.
 */
export async function runOnGpu(
  gpu: Gpu,
  g: Graph,
  inputs: Readonly<Record<string, Tensor>>,
): Promise<{ kernels: string[]; outputs: Record<string, number[]> }> {
  const session = await WebGpuSession.create(g, { gpu });
  try {
    const out = await session.run(inputs);
    const shapes = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, [...t.shape]]));
    return {
      kernels: session.planFor(shapes).map((e) => e.kernel),
      outputs: Object.fromEntries(g.outputs.map((o) => [o, Array.from(out[o]!.data)])),
    };
  } finally {
    session.destroy();
  }
}
