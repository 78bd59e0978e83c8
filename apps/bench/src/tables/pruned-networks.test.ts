import { WEIGHT_LAYER_OPS } from '@zeroskip/runtime';
import { describe, expect, it } from 'vitest';
import { pruned } from './networks.js';

describe('the pruned networks of the networks table', () => {
  it('prune every weight layer but the first, whatever node optimize() made of it (GoogLeNet’s pool projections are PoolConvs)', () => {
    for (const name of ['googlenet', 'resnet-50']) {
      const g = pruned(name, 1, 1);
      const layers = g.nodes.filter((n) => WEIGHT_LAYER_OPS.has(n.op));
      const zeros = layers.map((n) => {
        const w = g.initializers.get(n.inputs[1]!)!.data;
        let z = 0;
        for (const v of w) if (v === 0) z++;
        return z / w.length;
      });
      expect(layers.some((n) => n.op === 'PoolConv')).toBe(name === 'googlenet');
      expect(zeros[0], name).toBeLessThan(0.01);
      for (const [i, z] of zeros.slice(1).entries())
        expect(z, `${name} ${layers[i + 1]!.name}`).toBeCloseTo(0.7, 2);
    }
  });
});
