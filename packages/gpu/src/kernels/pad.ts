import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { UniformStruct, uniformAt } from '../uniforms.js';
import { bindings } from '../wgsl.js';
import { elementwiseWgsl, encodeElementwise } from './elementwise.js';

/** ONNX Pad's modes: a constant, the edge value repeated, a mirror without the edge, or a wrap-around. */
export const PAD_MODES = ['constant', 'edge', 'reflect', 'wrap'] as const;
export type PadMode = (typeof PAD_MODES)[number];

/** The largest rank the pad kernel takes. */
export const MAX_PAD_RANK = 8;

const PARAMS = new UniformStruct('PadParams', {
  total: 'u32',
  rank: 'u32',
  value: 'f32',
  inShape: { u32s: MAX_PAD_RANK },
  outShape: { u32s: MAX_PAD_RANK },
  before: { u32s: MAX_PAD_RANK },
});

/** How each mode maps a source index i outside [0, n) back inside (i32 arithmetic). */
const OUTSIDE: Record<PadMode, string> = {
  constant: 'inside = false; i = 0;',
  edge: 'i = clamp(i, 0, n - 1);',
  wrap: 'i = ((i % n) + n) % n;',
  reflect: `let period = 2 * (n - 1);
      let m = select(((i % period) + period) % period, 0, period == 0);
      i = select(period - m, m, m < n);`,
};

const PAD: Program<{ mode: PadMode }> = {
  name: 'pad-nd',
  wgsl: ({ mode }) =>
    elementwiseWgsl(
      bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        PARAMS,
      ),
      'p.total',
      `var rest = e;
  var src = 0u;
  var stride = 1u;
  var inside = true;
  for (var d = p.rank; d > 0u; d--) {
    let n = i32(${uniformAt('inShape', 'd - 1u')});
    let o = ${uniformAt('outShape', 'd - 1u')};
    var i = i32(rest % o) - i32(${uniformAt('before', 'd - 1u')});
    rest /= o;
    if (i < 0 || i >= n) {
      ${OUTSIDE[mode]}
    }
    src += u32(i) * stride;
    stride *= u32(n);
  }
  y[e] = select(p.value, x[src], inside);`,
    ),
};

/**
 * ONNX Pad of `x` into `y` by non-negative `before` and `after` per axis, in any mode (rank ≤ 8; the
 * reflect mode folds back and forth as often as the pads need). A constant `value` of ±Infinity is sent
 * as ±the largest f32.
 */
export function encodePadNd(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  {
    before,
    after,
    mode,
    value = 0,
  }: { before: readonly number[]; after: readonly number[]; mode: PadMode; value?: number },
): void {
  const rank = x.shape.length;
  if (!PAD_MODES.includes(mode))
    throw new GpuError('invalid-argument', `Pad mode '${mode}' is not one of ${PAD_MODES.join(', ')}.`);
  if (rank > MAX_PAD_RANK)
    throw new GpuError('limit-exceeded', `a pad of ${rank} axes exceeds the kernel's ${MAX_PAD_RANK}.`);
  if (before.length !== rank || after.length !== rank || [...before, ...after].some((p) => !(p >= 0)))
    throw new GpuError(
      'invalid-argument',
      `a pad of a rank-${rank} tensor needs ${rank} non-negative pads before and after each axis, got [${before.join(', ')}] and [${after.join(', ')}].`,
    );
  if (x.size === 0) throw new GpuError('invalid-argument', 'the pad kernel needs a non-empty input.');
  const outShape = x.shape.map((n, d) => n + before[d]! + after[d]!);
  const total = outShape.reduce((a, b) => a * b, 1);
  if (y.size !== total)
    throw new GpuError('invalid-argument', `the padded output needs ${total} values, got ${y.size}.`);
  if (total === 0) return;
  encodeElementwise(
    r,
    `pad-${mode}`,
    PAD,
    { mode },
    PARAMS,
    { total, rank, value, inShape: x.shape, outShape, before },
    [x, y],
  );
}
