import { compressModel, decodeZsk, type Graph, optimize, ZOO } from '@zeroskip/runtime';
import { loadPretrained, PRETRAINED } from '@zeroskip/train';
import { describe, expect, it } from 'vitest';
import { compressTable } from './compress-args.js';
import { inspectGraph, inspectTable } from './inspect.js';
import { zooRows, zooTable } from './zoo-list.js';

/** LeNet-5 with node names as long as deep torchvision exports give them, each of a different length. */
function longNames(): Graph {
  const g = ZOO['lenet-5']!.build({ seed: 1 });
  return {
    ...g,
    nodes: g.nodes.map((n, i) => ({
      ...n,
      name: `/features/denseblock4/denselayer${i}${'x'.repeat(9 * i)}/${n.op}`,
    })),
  };
}

/** Every line that starts with a layer name holds it whole, and the next column starts at one offset. */
function expectWholeAligned(table: string, names: string[]): void {
  const lines = table.split('\n');
  const starts = names.map((name) => {
    const line = lines.find((l) => l.startsWith(`${name} `));
    expect(line, name).toBeDefined();
    return line!.slice(name.length).search(/\S/) + name.length;
  });
  expect(new Set(starts).size).toBe(1);
  expect(lines[0]!.startsWith('layer ')).toBe(true);
}

describe('tables', () => {
  it('compress and inspect print layer names whole, the column as wide as the longest', () => {
    const g = optimize(longNames());
    const c = compressModel(g, { prune: 0.5 });
    const names = c.rows.map((r) => r.layer);
    expect(Math.max(...names.map((n) => n.length))).toBeGreaterThan(40);
    expectWholeAligned(compressTable(c, 'out.zsk', 1000), names);
    const report = inspectGraph(g);
    const text = inspectTable(report);
    expectWholeAligned(
      text.split('\n').slice(3).join('\n'),
      report.layers.map((l) => l.node),
    );
  });

  it('inspect widens its op column for an op name longer than the column (a fused ConvPoolSign)', async () => {
    const report = inspectGraph(optimize(decodeZsk(await loadPretrained('binarynet')).graph));
    expect(report.layers.map((l) => l.op)).toContain('ConvPoolSign');
    const [header, ...rows] = inspectTable(report).split('\n').slice(3);
    const kind = header!.indexOf('kind');
    expect(rows.length).toBeGreaterThan(report.layers.length);
    rows.slice(0, report.layers.length).forEach((row, i) => {
      expect(row.slice(kind).startsWith(`${report.layers[i]!.kind} `), row).toBe(true);
    });
  });
});

describe('zoo listing', () => {
  it('lists every zoo and trained model with its parameters, f32 size and shipped bytes', async () => {
    const rows = await zooRows();
    expect(rows.zoo.map((r) => r.name)).toEqual(Object.keys(ZOO));
    expect(rows.pretrained.map((r) => r.name)).toEqual(Object.keys(PRETRAINED));
    for (const r of [...rows.zoo, ...rows.pretrained]) expect(r.f32Bytes).toBe(4 * r.params);
    const fp32 = rows.pretrained.find((r) => r.name === 'fp32')!;
    // conv 32 5×5, BN, conv 64 5×5, BN, dense 3136→256, BN, dense 256→10; BN has a scale and a bias
    expect(fp32.params).toBe(
      32 * 25 + 32 + 2 * 32 + (64 * 32 * 25 + 64) + 2 * 64 + (3136 * 256 + 256) + 2 * 256 + 2570,
    );
    expect(fp32.zskBytes).toBe((await loadPretrained('fp32')).length);
    const text = zooTable(rows);
    for (const r of rows.zoo) expect(text).toContain(ZOO[r.name]!.description);
    for (const r of rows.pretrained) expect(text).toMatch(new RegExp(`^  ${r.name} +${r.params} `, 'm'));
  });
});
