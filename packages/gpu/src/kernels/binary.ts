import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import { type BinaryOp, binaryFn, checkBinaryOp } from '../pointwise.js';
import type { Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { UniformStruct, uniformAt } from '../uniforms.js';
import { type Activation, activationFn, bindings } from '../wgsl.js';
import { elementwiseWgsl, encodeElementwise } from './elementwise.js';
import { broadcastShape } from './ops.js';

/** Dimensions the kernel indexes after merging: two uniform rows of four. */
const MAX_RANK = 8;

/**
 * The broadcast as few dimensions as index the same elements: size-1 output dimensions dropped, and
 * neighbours merged where each input is broadcast along both or along neither (a residual add is
 * one dimension, a per-channel scale of NCHW three). Strides are 0 along broadcast dimensions.
 */
export function broadcastStrides(
  a: readonly number[],
  b: readonly number[],
): { shape: number[]; sa: number[]; sb: number[] } {
  const out = broadcastShape(a, b);
  const pad = (s: readonly number[]) => [...Array(out.length - s.length).fill(1), ...s] as number[];
  const [pa, pb] = [pad(a), pad(b)];
  const dims: { n: number; a: boolean; b: boolean }[] = [];
  out.forEach((n, d) => {
    if (n === 1) return;
    const [ia, ib] = [pa[d] !== 1, pb[d] !== 1];
    const last = dims[dims.length - 1];
    if (last && last.a === ia && last.b === ib) last.n *= n;
    else dims.push({ n, a: ia, b: ib });
  });
  const strides = (used: (d: (typeof dims)[number]) => boolean) => {
    const s = new Array<number>(dims.length);
    for (let d = dims.length - 1, at = 1; d >= 0; d--) {
      s[d] = used(dims[d]!) ? at : 0;
      if (used(dims[d]!)) at *= dims[d]!.n;
    }
    return s;
  };
  return { shape: dims.map((d) => d.n), sa: strides((d) => d.a), sb: strides((d) => d.b) };
}

const PARAMS = new UniformStruct('BinaryParams', {
  total: 'u32',
  rank: 'u32',
  shape: { u32s: MAX_RANK },
  sa: { u32s: MAX_RANK },
  sb: { u32s: MAX_RANK },
});

const BINARY: Program<{ readonly op: BinaryOp; readonly activation: Activation }> = {
  name: 'binary',
  wgsl: ({ op, activation }) =>
    elementwiseWgsl(
      `${bindings(
        [
          ['a', 'array<f32>', 'read'],
          ['b', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        PARAMS,
      )}
${binaryFn(op, 'op')}
${activationFn(activation)}`,
      'p.total',
      `var rest = e;
  var ia = 0u;
  var ib = 0u;
  for (var d = p.rank; d > 0u; d--) {
    let n = ${uniformAt('shape', 'd - 1u')};
    let i = rest % n;
    rest /= n;
    ia += i * ${uniformAt('sa', 'd - 1u')};
    ib += i * ${uniformAt('sb', 'd - 1u')};
  }
  y[e] = act(op(a[ia], b[ib]));`,
    ),
};

/** y = act(a ∘ b) with numpy broadcasting (residual add, scale by a per-channel tensor, pow, max, …). */
export function encodeBinary(
  r: Recorder,
  a: GpuTensor,
  b: GpuTensor,
  y: GpuTensor,
  op: BinaryOp,
  activation: Activation = 'none',
): void {
  checkBinaryOp(op);
  const { shape, sa, sb } = broadcastStrides(a.shape, b.shape);
  if (shape.length > MAX_RANK)
    throw new GpuError(
      'limit-exceeded',
      `broadcasting [${a.shape.join(', ')}] with [${b.shape.join(', ')}] needs ${shape.length} dimensions; the kernel takes ${MAX_RANK}.`,
    );
  const total = shape.reduce((p, d) => p * d, 1);
  if (y.size !== total)
    throw new GpuError('invalid-argument', `${op} writes ${total} values into a tensor of ${y.size}.`);
  encodeElementwise(
    r,
    `binary-${op}`,
    BINARY,
    { op, activation },
    PARAMS,
    { total, rank: shape.length, shape, sa, sb },
    [a, b, y],
  );
}
