import type { Gpu } from '@zeroskip/gpu';
import { heatGpu } from '../gpu-clocks.js';
import { summarize, type Timing } from '../measure.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type Tensor4D = import('@tensorflow/tfjs-core').Tensor4D;
type Backend = import('@tensorflow/tfjs-backend-webgpu').WebGPUBackend;

/** TF.js with its WebGPU backend built on Zeroskip's own GPUDevice, so both time kernels on one device. */
export interface TfjsOnDevice {
  readonly tf: Tf;
  readonly version: string;
  /** Frees TF.js's buffers; the device stays with its owner. */
  dispose(): void;
}

export async function tfjsOnDevice(gpu: Gpu): Promise<TfjsOnDevice> {
  const g = globalThis as { navigator?: { gpu?: unknown }; GPUBufferUsage?: unknown };
  // TF.js reads GPUBufferUsage & co. as globals, which Node gets from the `webgpu` package.
  if (g.GPUBufferUsage === undefined) {
    const name = 'webgpu';
    Object.assign(globalThis, ((await import(/* @vite-ignore */ name)) as { globals: object }).globals);
  }
  // TF.js registers its backend only where navigator.gpu exists; the backend itself gets our device.
  if (!g.navigator?.gpu)
    Object.defineProperty(globalThis, 'navigator', {
      value: { ...g.navigator, gpu: {} },
      configurable: true,
      writable: true,
    });
  const tf = await import('@tensorflow/tfjs-core');
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(gpu.device, gpu.adapter as GPUAdapterInfo));
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not start its WebGPU backend.');
  // Small tensors would otherwise be computed on the CPU backend.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  return { tf, version: tf.version_core, dispose: () => tf.removeBackend('webgpu') };
}

export interface ConvCase {
  /** input [n, c, h, w] (NCHW, as Zeroskip holds it) */
  readonly input: readonly [number, number, number, number];
  readonly x: Float32Array;
  /** weights [o, c / groups, kh, kw] */
  readonly shape: readonly [number, number, number, number];
  readonly weights: Float32Array;
  readonly pad: number;
  readonly stride: number;
  readonly groups: number;
}

/**
 * ONNX convolution weights [o, c / groups, kh, kw] as [kh, kw, groups, c / groups, o / groups]: one HWIO
 * filter per group along axis 2, and with one input channel per group TF.js's depthwise filter
 * [kh, kw, c, o / c] as it stands.
 */
export function groupedHwio(
  weights: Float32Array,
  [o, cg, kh, kw]: readonly [number, number, number, number],
  groups: number,
): Float32Array {
  const og = o / groups;
  const f = new Float32Array(weights.length);
  for (let g = 0; g < groups; g++)
    for (let oo = 0; oo < og; oo++)
      for (let k = 0; k < cg; k++)
        for (let s = 0; s < kh * kw; s++)
          f[((s * groups + g) * cg + k) * og + oo] = weights[((g * og + oo) * cg + k) * kh * kw + s]!;
  return f;
}

/** One HWIO filter tensor per group, for one TF.js conv2d per group (TF.js has no grouped convolution). */
export function groupFilters(
  tf: Tf,
  weights: Float32Array,
  shape: readonly [number, number, number, number],
  groups: number,
): Tensor4D[] {
  const [o, cg, kh, kw] = shape;
  const f = groupedHwio(weights, shape, groups);
  return tf.tidy(() => tf.unstack(tf.tensor5d(f, [kh, kw, groups, cg, o / groups]), 2) as Tensor4D[]);
}

/**
 * One TF.js conv2d per group, on NHWC inputs and HWIO filters sliced and laid out beforehand, so that
 * only the convolutions are timed.
 */
export class TfjsConv {
  private readonly xs: Tensor4D[] = [];
  private readonly ws: Tensor4D[];

  constructor(
    private readonly peer: TfjsOnDevice,
    private readonly c: ConvCase,
  ) {
    const [n, ch, h, w] = c.input;
    const cg = c.shape[1];
    this.ws = groupFilters(peer.tf, c.weights, c.shape, c.groups);
    for (let g = 0; g < c.groups; g++) {
      const x = new Float32Array(n * h * w * cg);
      for (let b = 0; b < n; b++)
        for (let k = 0; k < cg; k++)
          for (let p = 0; p < h * w; p++)
            x[(b * h * w + p) * cg + k] = c.x[(b * ch + g * cg + k) * h * w + p]!;
      this.xs.push(peer.tf.tensor4d(x, [n, h, w, cg]));
    }
  }

  private convs(): Tensor4D[] {
    return this.xs.map((x, g) => this.peer.tf.conv2d(x, this.ws[g]!, this.c.stride, this.c.pad));
  }

  /** The output in NCHW, for checking against Zeroskip's. */
  async output(): Promise<Float32Array> {
    const ys = this.convs();
    const parts = await Promise.all(ys.map((y) => y.data() as Promise<Float32Array>));
    const [n, ho, wo, og] = ys[0]!.shape;
    for (const y of ys) y.dispose();
    const out = new Float32Array(n * og * this.c.groups * ho * wo);
    parts.forEach((part, g) => {
      for (let b = 0; b < n; b++)
        for (let p = 0; p < ho * wo; p++)
          for (let k = 0; k < og; k++)
            out[((b * this.c.groups + g) * og + k) * ho * wo + p] = part[(b * ho * wo + p) * og + k]!;
    });
    return out;
  }

  /** GPU time of the conv2d kernels from TF.js's own timestamp queries, or submit-to-done wall time. */
  async time(gpu: Gpu, warmup: number, iterations: number): Promise<Timing & { clock: string }> {
    const { tf } = this.peer;
    const wall = async () => {
      const t0 = performance.now();
      tf.tidy(() => void this.convs());
      const backend = tf.backend() as Backend;
      backend.endComputePassEncoder();
      backend.submitQueue();
      await gpu.device.queue.onSubmittedWorkDone();
      return performance.now() - t0;
    };
    await heatGpu(gpu);
    for (let i = 0; i < warmup; i++) await wall();
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      if (await heatGpu(gpu)) await wall();
      if (gpu.features.timestampQuery) {
        const info = await tf.time(() => tf.tidy(() => void this.convs()));
        if (typeof info.kernelMs !== 'number') throw new Error(`TF.js timing failed: ${info.kernelMs.error}`);
        samples.push(info.kernelMs);
      } else samples.push(await wall());
    }
    return {
      ...summarize(samples),
      clock: gpu.features.timestampQuery ? 'gpu-timestamp' : 'gpu-submit-wall',
    };
  }

  dispose(): void {
    for (const t of [...this.xs, ...this.ws]) t.dispose();
  }
}
