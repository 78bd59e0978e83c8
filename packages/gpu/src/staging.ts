import { BufferUsage, MapMode } from './flags.js';
import { BufferPool } from './pool.js';

/** Below this size queue.writeBuffer's own ring buffer is the cheaper path. */
const STAGED_BYTES = 1 << 20;

/**
 * Uploads of large host arrays through staging buffers that stay mapped between uses. Dawn's
 * queue.writeBuffer stages every large write in a freshly allocated host-visible buffer; here the
 * data is copied once into a buffer mapped ahead of time, a copy command moves it, and the buffer is
 * mapped again in the background, ready for the next upload of its size (a run's input, every run).
 */
export class StagingUploads {
  /** Mapped buffers ready for writing, by size class. */
  private readonly ready = new Map<number, GPUBuffer[]>();
  private readonly all = new Set<GPUBuffer>();

  constructor(private readonly device: GPUDevice) {}

  /** Writes `data` to the start of `dst`, ordered after all work submitted before. */
  write(dst: GPUBuffer, data: ArrayBufferView): void {
    const bytes = data.byteLength;
    if (bytes < STAGED_BYTES) {
      this.device.queue.writeBuffer(dst, 0, data.buffer, data.byteOffset, bytes);
      return;
    }
    const size = BufferPool.sizeClass(bytes);
    const staging =
      this.ready.get(size)?.pop() ??
      this.device.createBuffer({
        size,
        usage: BufferUsage.MAP_WRITE | BufferUsage.COPY_SRC,
        mappedAtCreation: true,
      });
    this.all.add(staging);
    new Uint8Array(staging.getMappedRange(0, bytes)).set(new Uint8Array(data.buffer, data.byteOffset, bytes));
    staging.unmap();
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(staging, 0, dst, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    staging.mapAsync(MapMode.WRITE).then(
      () => {
        const list = this.ready.get(size) ?? [];
        list.push(staging);
        this.ready.set(size, list);
      },
      // destroyed meanwhile (device gone): nothing to keep
      () => this.all.delete(staging),
    );
  }

  destroy(): void {
    for (const b of this.all) b.destroy();
    this.all.clear();
    this.ready.clear();
  }
}
