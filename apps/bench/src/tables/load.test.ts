import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressModel, encodeZsk } from '@zeroskip/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededInput, zooGraph } from '../zoo-graphs.js';
import { coldLoad } from './load.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zeroskip-load-test-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('a cold load in a process of its own', { timeout: 300_000 }, () => {
  it('reports the time of each phase and the pipelines it compiled', async () => {
    const graph = zooGraph('lenet-5', 1);
    const c = compressModel(graph, { prune: 0.9, cluster: 5, huffman: true });
    const file = join(dir, 'lenet-5.zsk');
    await writeFile(file, encodeZsk(c.graph, c.encodings, c.meta));
    const r = await coldLoad(file, graph.inputs[0]!.name, seededInput(graph, 2));
    if ('reason' in r) throw new Error(r.reason);
    expect(r.phases).toHaveLength(4);
    for (const t of r.phases) expect(t).toBeGreaterThanOrEqual(0);
    expect(r.pipelines).toBeGreaterThan(0);
  });

  it('gives the reason a file does not load instead of a time', async () => {
    const file = join(dir, 'corrupt.zsk');
    await writeFile(file, new Uint8Array([1, 2, 3, 4]));
    const graph = zooGraph('lenet-5', 1);
    const r = await coldLoad(file, graph.inputs[0]!.name, seededInput(graph, 2));
    expect('reason' in r && r.reason).toMatch(/zsk|magic|header|file/i);
  });
});
