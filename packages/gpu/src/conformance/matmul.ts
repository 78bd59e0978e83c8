import type { Gpu } from '../device.js';
import { GpuError } from '../errors.js';
import { encodeMatmul, matmulReference, matmulShape } from '../kernels/matmul.js';
import { assert, assertClose, assertThrows } from './assert.js';
import type { ConformanceCase } from './case.js';
import { randomArray } from './data.js';

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export const matmulCases: ConformanceCase[] = [
  {
    group: 'matmul',
    name: 'batched MatMul with broadcast batch dims, 1-D operands and partial tiles',
    run: async (g: Gpu) => {
      const cases: [number[], number[]][] = [
        [
          [5, 7],
          [7, 3],
        ],
        [
          [37, 45],
          [45, 33],
        ],
        [
          [3, 17, 20],
          [3, 20, 9],
        ],
        [
          [2, 1, 4, 19],
          [3, 19, 34],
        ],
        [
          [1, 2, 1, 2, 5, 6],
          [2, 1, 2, 1, 6, 3],
        ],
        [[6], [2, 6, 5]],
        [[4, 3, 8], [8]],
        [[11], [11]],
        [
          [2, 65, 1],
          [1, 40],
        ],
      ];
      const before = g.pipelineCount;
      for (const [t, [as, bs]] of cases.entries()) {
        const a = randomArray(size(as), 300 + t);
        const b = randomArray(size(bs), 400 + t);
        const c = g.empty(matmulShape(as, bs));
        await g.submit((r) => encodeMatmul(r, g.tensor(as, a), g.tensor(bs, b), c));
        const want = matmulReference(a, as, b, bs);
        assert(
          want.shape.join() === c.shape.join(),
          `matmul shape [${c.shape.join(', ')}], expected [${want.shape.join(', ')}]`,
        );
        assertClose(await g.read(c), want.data, 1e-5, 1e-5, `matmul [${as.join(', ')}] × [${bs.join(', ')}]`);
      }
      assert(g.pipelineCount - before <= 1, 'MatMul compiled more than one pipeline for its shapes.');
      await assertThrows(() => matmulShape([3, 4], [5, 2]), GpuError, /inner dimensions/);
      await assertThrows(() => matmulShape([2, 3, 4], [3, 4, 2]), GpuError, /broadcast/);
    },
  },
];
