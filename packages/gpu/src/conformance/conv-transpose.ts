import { seededRandom } from '@zeroskip/quant';
import type { Gpu } from '../device.js';
import { GpuError } from '../errors.js';
import {
  type ConvTransposeAttributes,
  convTransposeGeometry,
  convTransposeOutput,
  convTransposeReference,
  encodeConvTranspose,
} from '../kernels/conv-transpose.js';
import { applyActivation } from '../reference.js';
import { assertClose, assertEqual, assertThrows } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

/** A seeded random layer: input channels = groups·cg, weights [c, og, kh, kw]. */
function randomLayer(
  seed: number,
  groups: number,
  attrs: (rnd: () => number) => ConvTransposeAttributes,
): { input: number[]; weights: number[]; attrs: ConvTransposeAttributes } {
  const rnd = seededRandom(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const cg = int(1, 3);
  const input = [int(1, 2), groups * cg, int(2, 6), int(2, 6)];
  const weights = [groups * cg, int(1, 3), int(1, 4), int(1, 4)];
  return { input, weights, attrs: { groups, ...attrs(rnd) } };
}

export const convTransposeCases: ConformanceCase[] = [
  {
    group: 'conv transpose',
    name: 'groups, strides, dilations, pads, output_padding, auto_pad and output_shape on random layers',
    run: async (g: Gpu) => {
      const layers = [
        randomLayer(1, 1, () => ({})),
        randomLayer(2, 2, () => ({ strides: [2, 3], pads: [1, 0, 0, 1] })),
        randomLayer(3, 1, () => ({ strides: [2, 2], dilations: [2, 1], outputPadding: [1, 1] })),
        randomLayer(4, 3, () => ({ strides: [3, 2], pads: [0, 1, 1, 0], outputPadding: [2, 1] })),
        randomLayer(5, 1, () => ({ strides: [2, 3], autoPad: 'SAME_UPPER' })),
        randomLayer(6, 2, () => ({ strides: [3, 2], dilations: [1, 2], autoPad: 'SAME_LOWER' })),
        randomLayer(7, 1, () => ({ strides: [2, 2], autoPad: 'VALID' })),
        randomLayer(8, 1, (rnd) => ({
          strides: [2, 2],
          outputShape: [4 + Math.floor(rnd() * 3), 5],
          autoPad: 'SAME_UPPER',
        })),
        randomLayer(9, 2, () => ({ strides: [2, 1], outputShape: [5, 4] })),
      ];
      for (const [i, { input, weights, attrs }] of layers.entries()) {
        const geo = convTransposeGeometry(input, weights, attrs);
        const x = randomArray(
          input.reduce((a, b) => a * b),
          10 + i,
        );
        const w = randomArray(
          weights.reduce((a, b) => a * b),
          20 + i,
        );
        const bias = i % 2 ? randomArray(geo.o, 30 + i) : undefined;
        const activation = i % 3 === 0 ? 'relu' : 'none';
        const y = g.empty([geo.n, geo.o, geo.ho, geo.wo]);
        await g.submit((r) =>
          encodeConvTranspose(
            r,
            geo,
            {
              x: g.tensor(input, x),
              w: g.tensor(weights, w),
              ...(bias ? { bias: g.tensor([geo.o], bias) } : {}),
              y,
            },
            activation,
          ),
        );
        assertClose(
          await g.read(y),
          convTransposeReference(geo, x, w, bias).map((v) => applyActivation(v, activation)),
          1e-5,
          1e-6,
          `conv transpose ${JSON.stringify(attrs)} of [${input.join(', ')}] by [${weights.join(', ')}]`,
        );
      }
    },
  },
  {
    group: 'conv transpose',
    name: 'output sizes and pads resolve as ONNX Runtime resolves them',
    run: async () => {
      // input [5, 3], kernel [3, 4], strides [2, 3]: full spans 11 × 10 (shapes and values confirmed with ONNX Runtime)
      const at = (a: ConvTransposeAttributes) => {
        const { size, pads } = convTransposeOutput([5, 3], [3, 4], { strides: [2, 3], ...a });
        return [...size, ...pads];
      };
      assertEqual(at({}), [11, 10, 0, 0, 0, 0], 'no padding');
      assertEqual(
        at({ pads: [1, 2, 0, 1], outputPadding: [1, 2] }),
        [11, 9, 1, 2, 0, 1],
        'pads and output_padding',
      );
      assertEqual(at({ autoPad: 'SAME_UPPER' }), [10, 9, 0, 0, 1, 1], 'SAME_UPPER pads the end');
      assertEqual(at({ autoPad: 'SAME_LOWER' }), [10, 9, 1, 1, 0, 0], 'SAME_LOWER pads the beginning');
      assertEqual(at({ autoPad: 'VALID', pads: [1, 1, 1, 1] }), [11, 10, 0, 0, 0, 0], 'VALID ignores pads');
      assertEqual(at({ outputShape: [10, 8] }), [10, 8, 1, 1, 0, 1], 'output_shape: odd unit first');
      assertEqual(
        at({ outputShape: [10, 8], autoPad: 'SAME_UPPER' }),
        [10, 8, 0, 1, 1, 1],
        'output_shape, SAME_UPPER',
      );
      assertEqual(
        at({ outputShape: [9, 9], autoPad: 'SAME_LOWER' }),
        [9, 9, 1, 1, 1, 0],
        'output_shape, SAME_LOWER',
      );
      await assertThrows(() => at({ outputShape: [12, 8] }), GpuError, /output_shape/);
      await assertThrows(() => at({ outputPadding: [2, 0] }), GpuError, /output_padding/);
      await assertThrows(() => convTransposeGeometry([1, 4, 3, 3], [3, 2, 3, 3]), GpuError, /weights/);
    },
  },
];
