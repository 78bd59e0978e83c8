import type { Gpu, Recorder } from '@zeroskip/gpu';
import type { Tensor, WebGpuSession } from '@zeroskip/runtime';
import { heatGpu } from './gpu-clocks.js';
import type { Clock } from './results.js';
/** Median and spread of repeated timings. */
export interface Timing {
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
  readonly samples: number;
}

export function summarize(samples: readonly number[]): Timing {
  if (samples.length === 0) throw new Error('summarize needs at least one sample.');
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => {
    const x = q * (s.length - 1);
    const lo = Math.floor(x);
    return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (x - lo);
  };
  return { median: at(0.5), p10: at(0.1), p90: at(0.9), samples: s.length };
}

export interface MeasureOptions {
  readonly warmup: number;
  readonly iterations: number;
  /** The GPU the timed work runs on: its clocks are raised before the warm-up and each round. */
  readonly gpu?: Gpu;
}

/**
 * Wall time the timed work runs before sampling: its pipelines, caches and pooled buffers settle. The
 * GPU's clocks are raised first where a GPU is given (see gpu-clocks.ts): a warm-up of the timed work
 * alone did not raise them when that work was light.
 */
const WARM_MS = 100;

/** Runs `step` at least `warmup` times, and more until {@link WARM_MS} have passed. */
async function warmUp(step: () => Promise<unknown>, warmup: number): Promise<void> {
  const warm = performance.now() + WARM_MS;
  for (let i = 0; i < warmup || performance.now() < warm; i++) await step();
}

/** Wall-clock milliseconds per call of `fn`, after at least `warmup` untimed calls and {@link WARM_MS}. */
export async function measureWall(fn: Work, options: MeasureOptions): Promise<Timing> {
  return (await measureInterleaved([fn], options))[0]!;
}

/**
 * Work timed after an untimed step: `arm()` does what a real caller does anyway (writing an input)
 * and returns the call to time.
 */
export interface Armed {
  readonly arm: () => () => unknown;
}

/** A call to time, or an {@link Armed} one. */
export type Work = (() => unknown) | Armed;

const armed = (w: Work): (() => unknown) => ('arm' in w ? w.arm() : w);

/**
 * A session's run with each of `feeds` copied, untimed, into an upload tensor (`uploadTensor`): the
 * run as a caller that writes its inputs there sees it, without the host copy of an ordinary array.
 */
export function runFromUploadTensors(session: WebGpuSession, feeds: Readonly<Record<string, Tensor>>): Armed {
  return {
    arm: () => {
      const inputs = Object.fromEntries(
        Object.entries(feeds).map(([name, x]) => {
          const up = session.uploadTensor(x.shape);
          (up.data as Float32Array).set(x.data as Float32Array);
          return [name, up];
        }),
      );
      return () => session.run(inputs);
    },
  };
}

/**
 * Wall-clock milliseconds per call of each of `fns`, sampled in turns (one call of each per round)
 * after the warm-up: the GPU's clock changes during the measurement then fall on all of them alike,
 * where timing one after the other measured identical plans up to 2.8× apart (AlexNet at batch 32,
 * 2026-11-23).
 */
export async function measureInterleaved(
  fns: readonly Work[],
  { warmup, iterations, gpu }: MeasureOptions,
): Promise<Timing[]> {
  if (gpu) await heatGpu(gpu);
  await warmUp(async () => {
    for (const fn of fns) await armed(fn)();
  }, warmup);
  const samples = fns.map((): number[] => []);
  for (let i = 0; i < iterations; i++) {
    if (gpu && (await heatGpu(gpu))) for (const fn of fns) await armed(fn)();
    for (const [k, fn] of fns.entries()) {
      const call = armed(fn);
      const t0 = performance.now();
      await call();
      samples[k]!.push(performance.now() - t0);
    }
  }
  return samples.map(summarize);
}

/** Copies of the timed work in each profiled submission. */
export const REPEATS = 10;

/**
 * GPU time (ms) of the work `record` records: at least `warmup` plain submissions, and more until
 * the GPU has been busy for {@link WARM_MS}, then `iterations` profiled ones.
 */
export async function timeGpu(
  gpu: Gpu,
  record: (r: Recorder) => void,
  warmup: number,
  iterations: number,
): Promise<Timing & { clock: Clock }> {
  // Each sample records the work REPEATS times in one submission and takes the mean: a GPU given one
  // short dispatch per submission idles between them at low clocks (as CUDA-event loops avoid too).
  const repeated = (r: Recorder) => {
    for (let k = 0; k < REPEATS; k++) record(r);
  };
  await heatGpu(gpu);
  await warmUp(() => gpu.submit(repeated), warmup);
  const samples: number[] = [];
  let clock: Clock = 'gpu-submit-wall';
  for (let i = 0; i < iterations; i++) {
    if (await heatGpu(gpu)) await gpu.submit(repeated);
    const p = await gpu.profile(repeated);
    samples.push(p.ms / REPEATS);
    clock = p.clock;
  }
  return { ...summarize(samples), clock };
}

/**
 * One run of `session` with every dispatch timed, after the GPU's clocks are raised: its GPU time
 * (the dispatches' sum, and the run's passes as recorded untimed), and as table parameters those, the
 * recording time and the plan's kernels with their count and GPU time, in ms to `digits` places
 * (where a run's wall time goes).
 */
export async function profileSession(
  gpu: Gpu,
  session: WebGpuSession,
  feeds: Readonly<Record<string, Tensor>>,
  digits: number,
): Promise<{ gpuMs: number; runGpuMs: number; params: Record<string, string> }> {
  await heatGpu(gpu);
  const profile = await session.profile(feeds);
  const kernels: Record<string, number> = {};
  for (const e of session.plan) kernels[e.kernel] = (kernels[e.kernel] ?? 0) + 1;
  const kernelMs: Record<string, number> = {};
  for (const e of profile.nodes) kernelMs[e.kernel] = (kernelMs[e.kernel] ?? 0) + e.ms;
  return {
    gpuMs: profile.gpuMs,
    runGpuMs: profile.runGpuMs,
    params: {
      'gpu ms': profile.gpuMs.toFixed(digits),
      'gpu ms as run': profile.runGpuMs.toFixed(digits),
      'record ms': profile.recordMs.toFixed(3),
      kernels: JSON.stringify(kernels),
      'gpu ms by kernel': JSON.stringify(
        Object.fromEntries(Object.entries(kernelMs).map(([k, ms]) => [k, Number(ms.toFixed(digits))])),
      ),
    },
  };
}
