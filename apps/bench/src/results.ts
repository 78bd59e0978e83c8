import type { Gpu } from '@zeroskip/gpu';
import type { Timing } from './measure.js';

/** How a figure was timed: GPU timestamp queries, or host wall clock. */
export type Clock = 'wall' | 'gpu-timestamp' | 'gpu-submit-wall';

/** One measured figure with everything needed to reproduce and compare it. */
export interface BenchResult {
  readonly table: string;
  readonly case: string;
  readonly params: Readonly<Record<string, string | number>>;
  readonly metric: string;
  readonly unit: string;
  readonly value: number;
  readonly timing?: Timing & { readonly clock: Clock };
}

export interface BenchTable {
  readonly id: string;
  readonly title: string;
  /** The paper figure or goal this table stands beside. */
  readonly reference: string;
  run(ctx: BenchContext): Promise<BenchResult[]>;
}

export interface BenchContext {
  readonly suite: 'quick' | 'full';
  readonly seed: number;
  /** Batch sizes to run where a table has several (default: the table's own). */
  readonly batches?: readonly number[];
  /** Weight sparsities where a table sweeps them (default: the table's own). */
  readonly sparsities?: readonly number[];
  /** Zoo networks to run where a table runs several (default: the table's own). */
  readonly networks?: readonly string[];
  /** The WebGPU device, opened on first use. */
  gpu(): Promise<Gpu>;
  progress(done: number, total: number, label: string): void;
}
