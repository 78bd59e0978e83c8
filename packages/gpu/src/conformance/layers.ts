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
    name: 'Conv2dLayer: every algorithm agrees with the reference, and auto chooses by sparsity, or by estimated time at a shape',
    run: async (g: Gpu) => {
      const shape = [6, 4, 3, 3] as const;
      const params = { stride: [2, 1], pads: [1, 1, 1, 1] } as const;
      const xShape = [3, 4, 9, 8];
      const x = randomArray(3 * 4 * 72, 1);
      const xt = g.tensor(xShape, x);
      for (const sparsity of [0.3, 0.95]) {
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
              layer.algorithm ===
                (layer.sparsity >= SPARSE_CONV_THRESHOLD ? 'sparse-tiled' : 'implicit-gemm'),
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
      const geo = (input: number[], weights: number[], groups = 1) =>
        convGeometry(input, weights, { pads: [1, 1, 1, 1], groups });
      assert(
        chooseConvAlgorithm(geo([1, 32, 14, 14], [32, 1, 3, 3], 32), 0.9) === 'depthwise',
        'depthwise layers keep the depthwise kernel',
      );
      assert(
        chooseConvAlgorithm(geo([32, 256, 28, 28], [512, 256, 3, 3]), 0.8) === 'implicit-gemm',
        'a batch of 3×3 convs that Winograd runs stays dense at 80%',
      );
      assert(
        chooseConvAlgorithm(geo([32, 256, 28, 28], [512, 256, 3, 3]), 0.97) === 'sparse-staged',
        'the staged kernel is the sparse kernel for batches of maps its tiles fit',
      );
      assert(
        chooseConvAlgorithm(geo([32, 256, 13, 13], [384, 256, 3, 3]), 0.97) === 'direct-sparse',
        'direct sparse, which reuses weights across images, runs batches of maps the tiles fit badly',
      );
      assert(
        chooseConvAlgorithm(convGeometry([1, 512, 14, 14], [112, 512, 1, 1]), 0.5) === 'sparse-tiled',
        'a batch-1 1×1 conv on a small map runs sparse from 50%',
      );
    },
  },
  {
    group: 'layers',
    name: 'FcLayer: dense, sparse and low-bit agree with the reference',
    run: async (g: Gpu) => {
      const [batch, k, outputs] = [5, 200, 30];
      const x = randomArray(batch * k, 4);
      const xt = g.tensor([batch, k], x);
      for (const algorithm of ['dense', 'sparse', 'lowbit'] as const) {
        const pruned = pruneByRate(randomArray(outputs * k, 5), 0.9).weights;
        // low-bit weights: the pruned ones' signs, {−α, 0, α}
        const weights = algorithm === 'lowbit' ? pruned.map((v) => Math.sign(v) * 0.5) : pruned;
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
