import { describe, expect, it } from 'vitest';
import { planBars, speedupChart } from './charts.js';
import type { BenchResult } from './results.js';

const speedup = (layer: string, sparsity: number, value: number): BenchResult => ({
  table: 'sparse-conv',
  case: layer,
  params: { batch: 1, sparsity, over: 'im2col-gemm' },
  metric: 'speedup of direct sparse',
  unit: '×',
  value,
});

describe('charts', () => {
  it('draws one line per layer and marks the break-even sparsity where the speedup crosses 1×', () => {
    const svg = speedupChart(
      [speedup('A', 0.5, 0.5), speedup('A', 0.7, 2), speedup('B', 0.5, 1.5), speedup('B', 0.7, 3)],
      'im2col-gemm',
      't',
    );
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    // A crosses 1× halfway in log space between 0.5 (0.5×) and 0.7 (2×): at 0.6; B never crosses
    expect(svg.match(/<circle/g)).toHaveLength(1);
    expect(svg).toContain('A break-even at 0.60');
  });

  it('draws a bar per plan and network', () => {
    const t = (c: string, plan: string, value: number): BenchResult => ({
      table: 'networks',
      case: c,
      params: { plan },
      metric: 'time',
      unit: 'ms',
      value,
    });
    const svg = planBars([t('x', 'dense', 2), t('x', 'auto', 1), t('y', 'dense', 4)], 't');
    expect(
      svg.match(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" fill="#[0-9a-f]+"><title>/g),
    ).toHaveLength(3);
  });
});
