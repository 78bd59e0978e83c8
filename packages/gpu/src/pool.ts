import type { DeviceLimits } from './device.js';
import { GpuError } from './errors.js';

/**
 * Storage buffers recycled by size class (powers of two from 256 bytes). Reuse is safe without
 * fences: the queue orders a later submission's writes after earlier submissions' reads.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly live = new Set<GPUBuffer>();
  /** Creation order of every buffer, to pick free ones deterministically. */
  private readonly age = new WeakMap<GPUBuffer, number>();
  private created = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly limits: DeviceLimits,
  ) {}

  static sizeClass(bytes: number): number {
    return Math.max(256, 2 ** Math.ceil(Math.log2(bytes)));
  }

  private classSize(bytes: number): number {
    const limit = this.limits.maxStorageBufferBindingSize;
    if (bytes > limit) {
      throw new GpuError(
        'limit-exceeded',
        `a buffer of ${bytes} bytes exceeds this adapter's maxStorageBufferBindingSize of ${limit} bytes; use a smaller batch or split the layer.`,
      );
    }
    return Math.min(BufferPool.sizeClass(bytes), Math.max(bytes, Math.floor(limit / 4) * 4));
  }

  /**
   * A recycled (or new) buffer of at least `bytes`, for results that only GPU commands write. The
   * oldest free buffer of the class is taken, so a repeated sequence of work gets the same buffers
   * each time whatever order they were released in, and its bind groups can be reused.
   */
  acquire(bytes: number, usage: number): GPUBuffer {
    const size = this.classSize(bytes);
    const list = this.free.get(`${size}:${usage}`);
    let buffer: GPUBuffer | undefined;
    if (list?.length) {
      let at = 0;
      for (let i = 1; i < list.length; i++) if (this.age.get(list[i]!)! < this.age.get(list[at]!)!) at = i;
      buffer = list[at]!;
      list[at] = list[list.length - 1]!;
      list.pop();
    } else buffer = this.born(this.device.createBuffer({ size, usage }));
    this.live.add(buffer);
    return buffer;
  }

  private born(buffer: GPUBuffer): GPUBuffer {
    this.age.set(buffer, this.created++);
    return buffer;
  }

  /** A new buffer holding `data` from its creation (zeros without data); it joins the pool on release. */
  create(bytes: number, usage: number, data?: ArrayBufferView): GPUBuffer {
    const size = this.classSize(bytes);
    const buffer = this.born(this.device.createBuffer({ size, usage, mappedAtCreation: data !== undefined }));
    if (data) {
      new Uint8Array(buffer.getMappedRange()).set(
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      );
      buffer.unmap();
    }
    this.live.add(buffer);
    return buffer;
  }

  /**
   * Takes `buffers` that are free out of circulation until they are released again: a recording
   * replayed later needs its buffers to keep what it left in them. Returns those it took.
   */
  claim(buffers: Iterable<GPUBuffer>): GPUBuffer[] {
    const claimed: GPUBuffer[] = [];
    for (const buffer of buffers) {
      const list = this.free.get(`${buffer.size}:${buffer.usage}`);
      const at = list?.indexOf(buffer) ?? -1;
      if (at < 0) continue;
      list![at] = list![list!.length - 1]!;
      list!.pop();
      this.live.add(buffer);
      claimed.push(buffer);
    }
    return claimed;
  }

  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) return;
    const key = `${buffer.size}:${buffer.usage}`;
    const list = this.free.get(key) ?? [];
    list.push(buffer);
    this.free.set(key, list);
  }

  /** Bytes held by the pool, live and free. */
  get bytes(): number {
    let total = 0;
    for (const b of this.live) total += b.size;
    for (const list of this.free.values()) for (const b of list) total += b.size;
    return total;
  }

  destroy(): void {
    for (const b of this.live) b.destroy();
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.live.clear();
    this.free.clear();
  }
}
