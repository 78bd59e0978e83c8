import { GpuError } from './errors.js';
import { BufferUsage, MapMode } from './flags.js';
import { BufferPool } from './pool.js';

/** Below this size queue.writeBuffer's own ring buffer is the cheaper path. */
export const STAGED_BYTES = 1 << 20;

/**
 * Host-visible buffers reused across transfers, because allocating one costs more than the transfer
 * itself on a discrete GPU (an H100 through Dawn: a fresh buffer per read-back took 0.6 ms; Dawn's
 * queue.writeBuffer, which stages each large write in a fresh buffer, moved 1.2 GB/s).
 *
 * Uploads: the data is copied once into a buffer mapped ahead of time, a copy command moves it, and
 * the buffer is mapped again in the background, ready for the next upload of its size (a run's input,
 * every run). That host copy bounds an upload: on an H100's host it ran at the rate of any memcpy
 * (6.2 against 6.3 GB/s into ordinary memory, apps/bench/results/h100/2026-11-24/uploads), so data
 * written straight into a mapped buffer ({@link uploadArray}) is sent without it. Read-backs: a run's
 * outputs are copied into buffers kept from earlier runs.
 */
export class Staging {
  /** Mapped buffers ready for writing, by size class. */
  private readonly ready = new Map<number, GPUBuffer[]>();
  /** Unmapped read-back buffers, by size class. */
  private readonly readable = new Map<number, GPUBuffer[]>();
  private readonly all = new Set<GPUBuffer>();
  /** Mapped ranges handed out by {@link uploadArray}, and the buffers they map. */
  private readonly handedOut = new WeakMap<ArrayBufferLike, GPUBuffer>();
  /** Ranges already sent: unmapped, so empty. */
  private readonly sent = new WeakSet<ArrayBufferLike>();
  /** Staging buffers whose copies are recorded in an encoder not yet submitted: mapped again after it is. */
  private readonly unsubmitted: GPUBuffer[] = [];

  constructor(private readonly device: GPUDevice) {}

  /**
   * `length` floats in a mapped buffer: data written into them goes to the GPU with {@link write}
   * (`Gpu.tensor`) without a host copy. They are good for one upload, and empty after it.
   */
  uploadArray(length: number): Float32Array {
    if (!Number.isSafeInteger(length) || length < 0)
      throw new GpuError(
        'invalid-argument',
        `an upload array holds a whole number of floats, not ${length}.`,
      );
    const staging = this.mapped(4 * length);
    const range = staging.getMappedRange(0, 4 * length);
    this.handedOut.set(range, staging);
    return new Float32Array(range);
  }

  /**
   * Writes `data` to the start of `dst`, ordered after all work submitted before. Given `encoder`, a
   * staged copy is recorded there, to run with the commands after it, rather than submitted on its own
   * (a submission costs the host 30–90 µs on an H100 through Dawn); then call {@link submitted} once
   * that encoder's work is submitted. A small write goes through the queue, ahead of the encoder's
   * commands, so nothing recorded in the encoder before it may use `dst`.
   */
  write(dst: GPUBuffer, data: ArrayBufferView, encoder?: GPUCommandEncoder): void {
    const bytes = data.byteLength;
    if (this.sent.has(data.buffer))
      throw new GpuError(
        'invalid-argument',
        'this upload array went to the GPU in an earlier upload and holds nothing now; take a new one from uploadArray().',
      );
    const own = this.handedOut.get(data.buffer);
    if (own) {
      this.handedOut.delete(data.buffer);
      this.sent.add(data.buffer);
      this.send(own, data.byteOffset, dst, bytes, encoder);
      return;
    }
    if (bytes < STAGED_BYTES) {
      this.device.queue.writeBuffer(dst, 0, data.buffer, data.byteOffset, bytes);
      return;
    }
    const staging = this.mapped(bytes);
    new Uint8Array(staging.getMappedRange(0, bytes)).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
    this.send(staging, 0, dst, bytes, encoder);
  }

  /** A buffer mapped for writing, of `bytes`' size class. */
  private mapped(bytes: number): GPUBuffer {
    const size = BufferPool.sizeClass(bytes);
    const staging =
      this.ready.get(size)?.pop() ??
      this.device.createBuffer({
        size,
        usage: BufferUsage.MAP_WRITE | BufferUsage.COPY_SRC,
        mappedAtCreation: true,
      });
    this.all.add(staging);
    return staging;
  }

  /**
   * Copies `bytes` at `offset` of a written staging buffer to `dst`, in `encoder` or in a submission of
   * its own, and maps the buffer again for the next upload once the copy is submitted.
   */
  private send(
    staging: GPUBuffer,
    offset: number,
    dst: GPUBuffer,
    bytes: number,
    encoder?: GPUCommandEncoder,
  ): void {
    staging.unmap();
    const into = encoder ?? this.device.createCommandEncoder();
    into.copyBufferToBuffer(staging, offset, dst, 0, bytes);
    if (encoder) {
      this.unsubmitted.push(staging);
      return;
    }
    this.device.queue.submit([into.finish()]);
    this.remap(staging);
  }

  /**
   * Maps again, for the next upload, the staging buffers whose copies were recorded into an encoder
   * now submitted; mapping one earlier would make that submission invalid. Those of a recording that
   * failed before its submission are mapped after the next one.
   */
  submitted(): void {
    for (const staging of this.unsubmitted.splice(0)) this.remap(staging);
  }

  private remap(staging: GPUBuffer): void {
    staging.mapAsync(MapMode.WRITE).then(
      () => keep(this.ready, staging),
      // destroyed meanwhile (device gone): nothing to keep
      () => this.all.delete(staging),
    );
  }

  /** A buffer of at least `bytes` to copy GPU data into and map for reading; give it back with {@link reuse}. */
  readBuffer(bytes: number): GPUBuffer {
    const size = BufferPool.sizeClass(bytes);
    const buffer =
      this.readable.get(size)?.pop() ??
      this.device.createBuffer({ size, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    this.all.add(buffer);
    return buffer;
  }

  /** Takes back an unmapped {@link readBuffer} for the next read of its size. */
  reuse(buffer: GPUBuffer): void {
    keep(this.readable, buffer);
  }

  /** Destroys a buffer that failed mid-transfer, rather than reusing it in an unknown state. */
  discard(buffer: GPUBuffer): void {
    this.all.delete(buffer);
    buffer.destroy();
  }

  destroy(): void {
    for (const b of this.all) b.destroy();
    this.all.clear();
    this.ready.clear();
    this.readable.clear();
  }
}

/** Files `buffer` under its size class (buffers are created at a class's size). */
function keep(lists: Map<number, GPUBuffer[]>, buffer: GPUBuffer): void {
  const list = lists.get(buffer.size) ?? [];
  list.push(buffer);
  lists.set(buffer.size, list);
}
