import { DENSE_KERNELS } from '@zeroskip/gpu';
import { describe, expect, it } from 'vitest';
import type { GraphNode } from '../graph.js';
import { float32 } from '../tensor.js';
import { randomTensor } from '../testing/random.js';
import { conv } from './conv.js';
import type { PlanContext } from './types.js';

/** The tuning candidates the conv op offers for a 3×3 or 1×1 conv on an adapter. */
function candidates(k: number, software: boolean): readonly string[] | undefined {
  const w = randomTensor([8, 4, k, k], 1);
  const node: GraphNode = {
    op: 'Conv',
    name: 'c',
    inputs: ['x', 'w'],
    outputs: ['y'],
    attrs: { pads: [k >> 1, k >> 1, k >> 1, k >> 1] },
  };
  const ctx: PlanContext = {
    opset: 13,
    mode: 'auto',
    software,
    constant: (name) => (name === 'w' ? w : undefined),
    bits: () => undefined,
  };
  const x = float32([1, 4, 12, 12]);
  return conv.gpu!.plan(node, [x, w], ctx)?.candidates;
}

describe('conv tuning candidates', () => {
  it('name the implicit GEMM with each dense kernel that applies, on a GPU only', () => {
    const named = (k: number) => (candidates(k, false) ?? []).filter((c) => c.includes(':'));
    expect(named(3)).toEqual(DENSE_KERNELS.filter((d) => d !== 'gemv').map((d) => `implicit-gemm:${d}`));
    expect(named(1)).toEqual(
      DENSE_KERNELS.filter((d) => d.startsWith('gemm-')).map((d) => `implicit-gemm:${d}`),
    );
    expect(candidates(3, true)?.filter((c) => c.includes(':'))).toEqual([]);
    expect(candidates(3, true)).toContain('implicit-gemm');
  });
});
