import type { Gpu } from '../device.js';

/** One check of the GPU against the CPU reference; throws a ConformanceError on mismatch. */
export interface ConformanceCase {
  readonly group: string;
  readonly name: string;
  run(gpu: Gpu): Promise<void>;
}
