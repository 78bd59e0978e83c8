import type { Gpu } from '@zeroskip/gpu';
import {
  type Graph,
  type PlanEntry,
  runCpu,
  type SessionProfile,
  type Tensor,
  WebGpuSession,
} from '@zeroskip/runtime';

export const PLANS = ['dense', 'auto', 'tuned'] as const;
export type PlanName = (typeof PLANS)[number];

export interface RunOptions {
  /** Timed runs after the first, whose median is the steady-state time. */
  readonly steadyRuns: number;
  /** Timed runs per candidate kernel when tuning. */
  readonly tuneIterations: number;
  readonly onStatus: (line: string) => void;
}

export interface PlanRun {
  readonly plan: PlanName | 'cpu';
  readonly entries: readonly PlanEntry[];
  /** Wall time of the first run: pipeline compilation and weight upload included. */
  readonly firstMs: number;
  readonly steadyMs: number;
  readonly profile?: SessionProfile;
  readonly outputs: Record<string, Tensor>;
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;

/** Times a first call, then the median of `runs` more; returns the last outputs. */
async function timed(
  call: () => Promise<Record<string, Tensor>>,
  runs: number,
): Promise<{ firstMs: number; steadyMs: number; outputs: Record<string, Tensor> }> {
  let t = performance.now();
  let outputs = await call();
  const firstMs = performance.now() - t;
  const samples: number[] = [];
  for (let k = 0; k < runs; k++) {
    t = performance.now();
    outputs = await call();
    samples.push(performance.now() - t);
  }
  return { firstMs, steadyMs: median(samples), outputs };
}

/** Runs the graph under each WebGPU plan in turn (a fresh session each, so each first run compiles). */
export async function runPlans(
  graph: Graph,
  gpu: Gpu,
  inputs: Record<string, Tensor>,
  plans: readonly PlanName[],
  o: RunOptions,
): Promise<PlanRun[]> {
  const out: PlanRun[] = [];
  for (const plan of plans) {
    const session = await WebGpuSession.create(graph, { gpu, plan: plan === 'tuned' ? 'auto' : plan });
    try {
      if (plan === 'tuned')
        await session.tune(inputs, {
          iterations: o.tuneIterations,
          onProgress: (done, total, node) => o.onStatus(`tuning ${done}/${total}: ${node}`),
        });
      o.onStatus(`running the ${plan} plan`);
      const t = await timed(() => session.run(inputs), o.steadyRuns);
      const profile = await session.profile(inputs);
      out.push({ plan, entries: session.plan, ...t, profile });
    } finally {
      session.destroy();
    }
  }
  return out;
}

/** The CPU executor, timed the same way. */
export async function runOnCpu(
  graph: Graph,
  inputs: Record<string, Tensor>,
  o: RunOptions,
): Promise<PlanRun> {
  o.onStatus('running on the CPU executor');
  const t = await timed(async () => runCpu(graph, inputs), o.steadyRuns);
  return { plan: 'cpu', entries: [], ...t };
}
