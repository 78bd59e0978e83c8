import { seededRandom } from '@zeroskip/quant';
import type { Gpu } from '../device.js';
import { GpuError } from '../errors.js';
import {
  encodeInstanceNorm,
  encodeLayerNorm,
  encodeLrn,
  instanceNormReference,
  layerNormReference,
  lrnReference,
} from '../kernels/norm.js';
import { assertClose, assertThrows } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export const normCases: ConformanceCase[] = [
  {
    group: 'normalization',
    name: 'instance norm on random shapes, data far from zero (two-pass variance)',
    run: async (g: Gpu) => {
      const rnd = seededRandom(5);
      for (const [t, spatial] of [
        [2, 3],
        [7, 5],
        [1, 1],
        [23, 19],
      ].entries()) {
        const shape = [1 + Math.floor(rnd() * 2), 1 + Math.floor(rnd() * 4), ...spatial];
        const c = shape[1]!;
        // a large common offset: E[x²] − E[x]² would lose every digit of the variance in f32
        const x = randomArray(size(shape), 40 + t).map((v) => 1000 + v);
        const [scale, bias] = [randomArray(c, 50 + t), randomArray(c, 60 + t)];
        const y = g.empty(shape);
        await g.submit((r) =>
          encodeInstanceNorm(r, g.tensor(shape, x), g.tensor([c], scale), g.tensor([c], bias), y, 1e-5),
        );
        assertClose(
          await g.read(y),
          instanceNormReference(x, shape, scale, bias, 1e-5),
          2e-3,
          2e-3,
          `instance norm [${shape.join(', ')}]`,
        );
      }
    },
  },
  {
    group: 'normalization',
    name: 'layer norm over trailing axes with broadcast scale and optional bias',
    run: async (g: Gpu) => {
      const cases: [number[], number, number[], number[] | undefined][] = [
        [[4, 7], -1, [7], [7]],
        [[2, 3, 5, 6], 2, [5, 6], [6]],
        [[2, 3, 5, 6], 1, [3, 1, 6], undefined],
        [[3, 300], -1, [1, 300], [300]],
        [[2, 5, 3], 0, [5, 3], [1, 1, 5, 1]],
      ];
      for (const [t, [shape, axis, scaleShape, biasShape]] of cases.entries()) {
        const x = randomArray(size(shape), 70 + t).map((v) => 3 * v + 2);
        const scale = randomArray(size(scaleShape), 80 + t);
        const bias = biasShape && { data: randomArray(size(biasShape), 90 + t), shape: biasShape };
        const y = g.empty(shape);
        await g.submit((r) =>
          encodeLayerNorm(
            r,
            g.tensor(shape, x),
            g.tensor(scaleShape, scale),
            bias && g.tensor(bias.shape, bias.data),
            y,
            axis,
            1e-3,
          ),
        );
        assertClose(
          await g.read(y),
          layerNormReference(x, shape, scale, scaleShape, bias, axis, 1e-3),
          1e-4,
          1e-5,
          `layer norm [${shape.join(', ')}] from axis ${axis}`,
        );
      }
      await assertThrows(
        () => g.submit((r) => encodeLayerNorm(r, g.empty([2, 6]), g.empty([4]), undefined, g.empty([2, 6]))),
        GpuError,
        /broadcast/,
      );
    },
  },
  {
    group: 'normalization',
    name: 'LRN across channels, odd and even sizes',
    run: async (g: Gpu) => {
      const shape = [2, 7, 3, 5];
      const x = randomArray(size(shape), 99).map((v) => v * 4);
      const xt = g.tensor(shape, x);
      const params = [
        { size: 1 },
        { size: 2, alpha: 0.01, beta: 0.5, bias: 2 },
        { size: 5, alpha: 1e-3, beta: 0.75, bias: 1 },
        { size: 9, alpha: 0.1, beta: 1.5, bias: 0.5 },
      ];
      const ys = params.map(() => g.empty(shape));
      await g.submit((r) => {
        for (const [i, p] of params.entries()) encodeLrn(r, xt, ys[i]!, p);
      });
      for (const [i, p] of params.entries())
        assertClose(await g.read(ys[i]!), lrnReference(x, shape, p), 1e-5, 1e-6, `LRN ${JSON.stringify(p)}`);
    },
  },
];
