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
 * Dispatches per command buffer of an untimed recording. Submitting as it goes lets the GPU start on
 * the first layers while the host records the rest, instead of idling through the whole recording
 * (ORT-web and TF.js flush every 16 and 15 dispatches for the same reason). The first command buffers
 * are shorter, doubling from {@link FIRST_SUBMIT}: the GPU starts sooner, and each submission costs the
 * host 30–90 µs, so the later ones stay long. On an H100 at batch 1 that took 3–9% off the wall time of
 * pruned AlexNet, GoogLeNet and VGG-16, and left ResNet-50 within 3% (apps/bench/results/h100/2026-11-25/host-path).
 */
export const SUBMIT_EVERY = 16;
export const FIRST_SUBMIT = 4;

/** A tensor copied out at the end of a recording, mapped once the submission is done. */
export interface PendingRead {
  readonly staging: GPUBuffer;
  readonly bytes: number;
  resolve(data: ArrayBuffer): void;
  reject(e: unknown): void;
}

/** A dispatch as recorded: what {@link Recorder.replay} encodes again. */
export interface Dispatch {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  /** The buffers the bind group holds, in binding order. */
  readonly buffers: readonly GPUBuffer[];
  readonly groups: readonly [number, number, number];
}

/** A recorded command: a dispatch, a tensor copy, or a read-back. */
export type Command =
  | Dispatch
  | { readonly copy: readonly [GpuTensor, GpuTensor] }
  | { readonly read: GpuTensor };

/** Timestamp queries of a timed recording: per dispatch (each in its own pass), or per pass as run untimed. */
export interface RecorderTiming {
  readonly querySet: GPUQuerySet;
  readonly capacity: number;
  readonly resolve: GPUBuffer;
  readonly staging: GPUBuffer;
  readonly each: 'dispatch' | 'pass';
}

/**
 * Records dispatches into command encoders, submitting every `SUBMIT_EVERY` dispatches: all in one
 * compute pass per encoder, or each in its own pass, in one encoder, when each dispatch is timed
 * (timestamps are written per pass). Dawn orders dependent dispatches within a pass itself.
 */
export class Recorder {
  readonly labels: string[] = [];
  /** What each timestamp pair of a timed recording measured, in order: a dispatch's label, or 'pass'. */
  readonly timed: string[] = [];
  /** Everything recorded, in order. */
  readonly commands: Command[] = [];
  /** Copies requested by {@link read}, mapped by the {@link Gpu} after the final submit. */
  readonly reads: PendingRead[] = [];
  private pass: GPUComputePassEncoder | undefined;
  private sinceSubmit = 0;
  /** Dispatches the current command buffer takes before it is submitted. */
  private chunk = FIRST_SUBMIT;
  /** How many of {@link commands} were recorded before the current encoder. */
  private encoderStart = 0;

  constructor(
    readonly gpu: Gpu,
    private encoder: GPUCommandEncoder,
    readonly timing: RecorderTiming | undefined,
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
    const bound = buffers.map((b) => ('buffer' in b ? b.buffer : b));
    const command = {
      label,
      pipeline,
      bindGroup: this.gpu.bindGroup(pipeline, bound),
      buffers: bound,
      groups: [groups[0], groups[1], groups[2] ?? 1] as const,
    };
    this.encode(command);
  }

  private encode(command: Dispatch): void {
    const { label, pipeline, bindGroup, groups } = command;
    this.commands.push(command);
    const t = this.timing;
    if (!this.pass) {
      const i = this.timed.length;
      if (t && 2 * i + 2 > t.capacity)
        throw new GpuError(
          'limit-exceeded',
          `more than ${t.capacity / 2} timed ${t.each}es in one profiled submission.`,
        );
      this.pass = this.encoder.beginComputePass(
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
      if (t) this.timed.push(t.each === 'dispatch' ? label : 'pass');
    }
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
    this.labels.push(label);
    if (t?.each === 'dispatch') this.endPass();
    else if (++this.sinceSubmit === this.chunk) this.submitSoFar();
  }

  /**
   * Records `commands` (another recording's {@link Recorder.commands}) again, without the work of choosing
   * kernels and binding buffers; returns the data of their reads, in order. Valid while every buffer
   * and pipeline they name is alive and holds what it held for them.
   */
  replay(commands: readonly Command[]): Promise<ArrayBuffer>[] {
    const reads: Promise<ArrayBuffer>[] = [];
    for (const c of commands) {
      if ('read' in c) reads.push(this.read(c.read));
      else if ('copy' in c) this.copy(...c.copy);
      else this.encode(c);
    }
    return reads;
  }

  /**
   * Writes `data` to `dst` for the commands recorded after it. A staged upload is copied in this
   * recording's first command buffer instead of a submission of its own, so the GPU starts on the run
   * one submission earlier. Uploads come before any command of their command buffer: a small one goes
   * through the queue, ahead of the whole buffer.
   */
  upload(dst: GPUBuffer, data: ArrayBufferView): void {
    if (this.commands.length > this.encoderStart)
      throw new GpuError(
        'invalid-argument',
        'an upload must come before the commands of its command buffer; record it first.',
      );
    // no command yet, so no pass is open: the copy goes straight into the encoder
    this.gpu.staging.write(dst, data, this.encoder);
  }

  /**
   * Copies `t` out after everything recorded before: the data arrives once the submission is done,
   * without a second submission and wait (the run's read-back rides on its last command buffer).
   */
  read(t: GpuTensor): Promise<ArrayBuffer> {
    this.commands.push({ read: t });
    this.endPass();
    const bytes = t.size * 4;
    const staging = this.gpu.staging.readBuffer(bytes);
    if (bytes > 0) this.encoder.copyBufferToBuffer(t.buffer, 0, staging, 0, bytes);
    const data = new Promise<ArrayBuffer>((resolve, reject) => {
      this.reads.push({ staging, bytes, resolve, reject });
    });
    // a recording that fails before its submit rejects reads nobody awaits yet
    data.catch(() => {});
    return data;
  }

  /** Copies a whole tensor (its first `size` elements) into another. */
  copy(src: GpuTensor, dst: GpuTensor): void {
    this.endPass();
    this.encoder.copyBufferToBuffer(src.buffer, 0, dst.buffer, 0, Math.min(src.size, dst.size) * 4);
    this.commands.push({ copy: [src, dst] });
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  private submitSoFar(): void {
    this.submit();
    this.encoder = this.gpu.device.createCommandEncoder();
    this.sinceSubmit = 0;
    this.chunk = Math.min(2 * this.chunk, SUBMIT_EVERY);
    this.encoderStart = this.commands.length;
  }

  private submit(): void {
    this.endPass();
    this.gpu.device.queue.submit([this.encoder.finish()]);
    this.gpu.staging.submitted();
  }

  /** Ends the recording: resolves a profiled submission's timestamps and submits the rest. */
  finish(): void {
    this.endPass();
    const t = this.timing;
    if (t && this.timed.length > 0) {
      this.encoder.resolveQuerySet(t.querySet, 0, 2 * this.timed.length, t.resolve, 0);
      this.encoder.copyBufferToBuffer(t.resolve, 0, t.staging, 0, 2 * this.timed.length * 8);
    }
    this.submit();
  }
}
