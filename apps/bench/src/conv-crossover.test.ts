import { convGeometry } from '@zeroskip/gpu';
import { describe, expect, it } from 'vitest';
import { choiceOverDense, type TimedConv } from './tables/conv-crossover.js';

// a batch-1 1×1 conv on a small map (the planner runs it sparse from 50%) and a batch of 3×3 convs
// that Winograd runs (dense at 80%)
const pointwise = convGeometry([1, 512, 14, 14], [112, 512, 1, 1]);
const winograd = convGeometry([32, 512, 28, 28], [512, 512, 3, 3], { pads: [1, 1, 1, 1] });
const timed = (
  network: string,
  count: number,
  geo: TimedConv['geo'],
  dense: number,
  tiled: number,
  direct: number,
) => ({
  network,
  count,
  geo,
  dense,
  sparse: new Map([
    ['sparse-tiled', [tiled]],
    ['direct-sparse', [direct]],
  ] as const),
});

describe('conv-crossover per network', () => {
  it('sums each conv as often as the network has it, at the kernel the planner chooses', () => {
    const rows = choiceOverDense(
      [timed('a', 3, pointwise, 2, 1, 4), timed('a', 1, winograd, 6, 3, 2)],
      [0.5],
      1,
    );
    const value = (metric: string) => rows.find((r) => r.metric === metric)?.value;
    // the planner: the pointwise conv sparse-tiled (3 × 1), the Winograd one dense (6)
    expect(value("speedup of the planner's choice")).toBeCloseTo((3 * 2 + 6) / (3 * 1 + 6), 12);
    // the fastest: 3 × 1 and 2 (direct sparse)
    expect(value('speedup of the fastest kernels')).toBeCloseTo((3 * 2 + 6) / (3 * 1 + 2), 12);
  });

  it('keeps networks apart', () => {
    const rows = choiceOverDense(
      [timed('a', 1, pointwise, 2, 1, 4), timed('b', 1, pointwise, 2, 4, 1)],
      [0.5],
      1,
    );
    expect(rows.map((r) => r.case)).toEqual(['a batch 1', 'a batch 1', 'b batch 1', 'b batch 1']);
    expect(rows[0]!.value).toBe(2);
    expect(rows[2]!.value).toBe(0.5);
  });
});
