import { pruneByRate } from '@zeroskip/quant';
import type { Gpu } from '../device.js';
import { convGeometry } from '../geometry.js';
import {
  CONV_ALGORITHMS,
  Conv2dLayer,
  chooseConvAlgorithm,
  FcLayer,
  SPARSE_CONV_THRESHOLD,
} from '../layers.js';
import { conv2dReference, fcReference } from '../reference.js';
import { assert, assertClose } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

export const layerCases: ConformanceCase[] = [
  {
    group: 'layers',
    name: 'Conv2dLayer: every algorithm agrees with the reference, and auto follows Fang et al.',
    run: async (g: Gpu) => {
      const shape = [6, 4, 3, 3] as const;
      const params = { stride: [2, 1], pads: [1, 1, 1, 1] } as const;
      const xShape = [3, 4, 9, 8];
      const x = randomArray(3 * 4 * 72, 1);
      const xt = g.tensor(xShape, x);
      for (const sparsity of [0.3, 0.9]) {
        const weights = pruneByRate(randomArray(6 * 4 * 9, 2), sparsity).weights;
        const bias = randomArray(6, 3);
        const want = conv2dReference(convGeometry(xShape, shape, params), x, weights, bias, 'relu');
        for (const algorithm of [...CONV_ALGORITHMS.filter((a) => a !== 'depthwise'), 'auto'] as const) {
          const layer = new Conv2dLayer(g, {
            weights,
            shape,
            bias,
            ...params,
            activation: 'relu',
            algorithm,
          });
          if (algorithm === 'auto')
            assert(
              layer.algorithm === (sparsity >= SPARSE_CONV_THRESHOLD ? 'sparse-tiled' : 'implicit-gemm'),
              `auto chose ${layer.algorithm} at sparsity ${sparsity}`,
            );
          let y = xt;
          await g.submit((r) => {
            y = layer.encode(r, xt);
          });
          assertClose(await g.read(y), want, 1e-5, 1e-5, `${layer.algorithm} at sparsity ${sparsity}`);
          g.release(y);
          layer.destroy();
        }
      }
      assert(chooseConvAlgorithm(1, 32, 0.9) === 'depthwise', 'depthwise layers keep the depthwise kernel');
      assert(
        chooseConvAlgorithm(3, 1, 0.9, 32) === 'direct-sparse',
        'direct sparse reuses weights across images: the default for batches',
      );
      assert(
        chooseConvAlgorithm(3, 1, 0.9, 32, 56) === 'sparse-tiled',
        'the tiled kernel stays the default for batches of wide maps',
      );
    },
  },
  {
    group: 'layers',
    name: 'FcLayer: dense and sparse agree with the reference',
    run: async (g: Gpu) => {
      const [batch, k, outputs] = [5, 200, 30];
      const x = randomArray(batch * k, 4);
      const xt = g.tensor([batch, k], x);
      for (const algorithm of ['dense', 'sparse'] as const) {
        const weights = pruneByRate(randomArray(outputs * k, 5), 0.9).weights;
        const bias = randomArray(outputs, 6);
        const layer = new FcLayer(g, { weights, outputs, bias, algorithm, activation: 'none' });
        let y = xt;
        await g.submit((r) => {
          y = layer.encode(r, xt);
        });
        assertClose(
          await g.read(y),
          fcReference(x, batch, weights, outputs, bias),
          1e-5,
          1e-5,
          `${algorithm} FC`,
        );
        layer.destroy();
      }
    },
  },
];
