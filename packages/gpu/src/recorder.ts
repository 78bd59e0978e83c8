import type { Gpu } from './device.js';
import { GpuError } from './errors.js';
import type { GpuTensor } from './tensor.js';

/** How a figure was timed: GPU timestamp queries, or host wall clock from submit to completion. */
export type Clock = 'gpu-timestamp' | 'gpu-submit-wall';

/** Splits `groups` workgroups over x and y so that neither exceeds the per-dimension limit. */
export function grid(groups: number, maxPerDim: number): [number, number] {
  if (groups <= maxPerDim) return [Math.max(1, groups), 1];
  const y = Math.ceil(groups / maxPerDim);
  if (y > maxPerDim)
    throw new GpuError(
      'limit-exceeded',
      `${groups} workgroups exceed the adapter's ${maxPerDim}² limit; split the work.`,
    );
  return [Math.ceil(groups / y), y];
}

/**
 * Records dispatches into one command encoder: all in one compute pass, or each in its own pass when
 * timed (timestamps are written per pass). Dawn orders dependent dispatches within a pass itself.
 */
export class Recorder {
  readonly labels: string[] = [];
  private pass: GPUComputePassEncoder | undefined;

  constructor(
    readonly gpu: Gpu,
    readonly encoder: GPUCommandEncoder,
    readonly timing:
      | { querySet: GPUQuerySet; capacity: number; resolve: GPUBuffer; staging: GPUBuffer }
      | undefined,
  ) {}

  /**
   * Dispatches `groups` workgroups (a linear count, spread over x and y; kernels rebuild the index
   * from `wid.x + wid.y * nx`) of `pipeline` with `buffers` bound at 0, 1, 2, … of group 0: tensors,
   * and buffers such as {@link Gpu.uniforms}' (the pipeline's layout gives each binding its type).
   */
  dispatch(
    label: string,
    pipeline: GPUComputePipeline,
    buffers: readonly (GpuTensor | GPUBuffer)[],
    groups: [number, number] | [number, number, number],
  ): void {
    const bindGroup = this.gpu.bindGroup(
      pipeline,
      buffers.map((b) => ('buffer' in b ? b.buffer : b)),
    );
    const i = this.labels.length;
    const t = this.timing;
    if (t && 2 * i + 2 > t.capacity)
      throw new GpuError(
        'limit-exceeded',
        `more than ${t.capacity / 2} dispatches in one profiled submission.`,
      );
    const pass =
      this.pass ??
      this.encoder.beginComputePass(
        t
          ? {
              timestampWrites: {
                querySet: t.querySet,
                beginningOfPassWriteIndex: 2 * i,
                endOfPassWriteIndex: 2 * i + 1,
              },
            }
          : {},
      );
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1], groups[2] ?? 1);
    if (t) pass.end();
    else this.pass = pass;
    this.labels.push(label);
  }

  /** Copies a whole tensor (its first `size` elements) into another. */
  copy(src: GpuTensor, dst: GpuTensor): void {
    this.endPass();
    this.encoder.copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, Math.min(src.size, dst.size) * 4);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  /** Ends the recording: closes the open pass and resolves a profiled submission's timestamps. */
  finish(): void {
    this.endPass();
    const t = this.timing;
    if (!t || this.labels.length === 0) return;
    this.encoder.resolveQuerySet(t.querySet, 0, 2 * this.labels.length, t.resolve, 0);
    this.encoder.copyBufferToBuffer(t.resolve, 0, t.staging, 0, 2 * this.labels.length * 8);
  }
}
