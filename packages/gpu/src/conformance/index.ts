import type { Gpu } from '../device.js';
import { bitwiseCases } from './bitwise.js';
import type { ConformanceCase } from './case.js';
import { convTransposeCases } from './conv-transpose.js';
import { denseCases } from './dense.js';
import { deviceCases } from './device.js';
import { layerCases } from './layers.js';
import { matmulCases } from './matmul.js';
import { normCases } from './norm.js';
import { opsCases } from './ops.js';
import { pipelineCases } from './pipelines.js';
import { pointwiseCases } from './pointwise.js';
import { quantConvCases } from './quant-conv.js';
import { reduceCases } from './reduce.js';
import { resizeCases } from './resize.js';
import { sparseCases } from './sparse.js';

export { ConformanceError } from './assert.js';
export type { ConformanceCase } from './case.js';

/** Every kernel against its CPU reference on randomized shapes, plus the device layer's error paths. */
export const conformanceCases: readonly ConformanceCase[] = [
  ...deviceCases,
  ...denseCases,
  ...sparseCases,
  ...bitwiseCases,
  ...quantConvCases,
  ...opsCases,
  ...pointwiseCases,
  ...resizeCases,
  ...convTransposeCases,
  ...reduceCases,
  ...normCases,
  ...matmulCases,
  ...pipelineCases,
  ...layerCases,
];

export interface ConformanceResult {
  readonly group: string;
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly error?: string;
}

/** Runs the suite (or the cases whose group or name contains `filter`) on `gpu`, one case at a time. */
export async function runConformance(
  gpu: Gpu,
  options: { filter?: string; onResult?: (r: ConformanceResult) => void } = {},
): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  for (const c of conformanceCases) {
    if (options.filter && !`${c.group} ${c.name}`.includes(options.filter)) continue;
    const t0 = performance.now();
    let error: string | undefined;
    try {
      await c.run(gpu);
    } catch (e) {
      error = `${(e as Error).name}: ${(e as Error).message}`;
    }
    const result = {
      group: c.group,
      name: c.name,
      ok: error === undefined,
      ms: performance.now() - t0,
      ...(error ? { error } : {}),
    };
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}
