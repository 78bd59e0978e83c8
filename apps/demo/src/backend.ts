import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { type Graph, runCpu, type Tensor, WebGpuSession } from '@zeroskip/runtime';
import { messageOf } from './dom.js';

/** Where models run: one shared WebGPU device, or the CPU executor and the reason why. */
export type Backend =
  | { readonly kind: 'webgpu'; readonly gpu: Gpu }
  | { readonly kind: 'cpu'; readonly reason: string };

export async function openBackend(): Promise<Backend> {
  if (!navigator.gpu) return { kind: 'cpu', reason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  try {
    return { kind: 'webgpu', gpu: await requestDevice({ gpu: navigator.gpu }) };
  } catch (e) {
    return { kind: 'cpu', reason: messageOf(e) };
  }
}

export function describeBackend(b: Backend): string {
  return b.kind === 'webgpu'
    ? `WebGPU on ${[b.gpu.adapter.vendor, b.gpu.adapter.architecture, b.gpu.adapter.description].filter(Boolean).join(' ')}`
    : `No WebGPU, running on the CPU executor: ${b.reason}`;
}

/** Runs a graph repeatedly on the backend (a WebGPU session with the auto plan, or the CPU executor). */
export interface Runner {
  run(inputs: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>>;
  destroy(): void;
}

export async function runner(graph: Graph, backend: Backend): Promise<Runner> {
  if (backend.kind === 'cpu') return { run: async (inputs) => runCpu(graph, inputs), destroy: () => {} };
  const session = await WebGpuSession.create(graph, { gpu: backend.gpu });
  return { run: (inputs) => session.run(inputs), destroy: () => session.destroy() };
}
