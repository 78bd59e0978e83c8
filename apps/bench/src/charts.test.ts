import { describe, expect, it } from 'vitest';
import { planBars, speedupChart, tableCharts } from './charts.js';
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

  it('charts table 6 per network and implementation, leaving its per-layer rows out', () => {
    const row = (c: string, impl: string, batch: number, value: number): BenchResult => ({
      table: 'peers',
      case: c,
      params: { impl, batch },
      metric: 'time',
      unit: 'ms',
      value,
    });
    const results = [
      row('AlexNet conv2', 'tfjs-webgpu', 1, 0.2),
      row('alexnet batch 1', 'zeroskip-webgpu', 1, 5),
      row('alexnet batch 1', 'onnxruntime-node', 1, 3),
      row('vgg-16 batch 1', 'zeroskip-webgpu', 1, 16),
      row('vgg-16 batch 32', 'zeroskip-webgpu', 32, 80),
    ];
    const charts = tableCharts('peers', results, 1, '');
    expect(charts.map(([name]) => name)).toEqual(['peers-networks-b1.svg']);
    const bars = charts[0]![1].match(/<title>[^<]+<\/title>/g)!;
    expect(bars).toEqual([
      '<title>alexnet batch 1 zeroskip-webgpu: 5.00 ms</title>',
      '<title>alexnet batch 1 onnxruntime-node: 3.00 ms</title>',
      '<title>vgg-16 batch 1 zeroskip-webgpu: 16.00 ms</title>',
    ]);
    expect(tableCharts('codec', results, 1, '')).toEqual([]);
  });
});
