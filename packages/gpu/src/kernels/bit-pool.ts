import type { Program } from '../device.js';
import { checkInt, GpuError } from '../errors.js';
import type { Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { bindings, u, type Window, windowLiterals, windowLoop } from '../wgsl.js';
import { dispatchElementwise, elementwiseWgsl } from './elementwise.js';
import { type PoolParams, poolOutput } from './ops.js';
import { checkEncoding, encodingPlanes, type PackedEncoding } from './pack-bits.js';

/** A max pool's window over [N, C, H, W] and its output size (ONNX's, ceil mode included). */
export interface BitPoolGeometry extends Window {
  readonly n: number;
  readonly c: number;
  readonly ho: number;
  readonly wo: number;
}

/** The geometry of an ONNX MaxPool with `p` on input [N, C, H, W]. */
export function bitPoolGeometry(
  shape: readonly [number, number, number, number],
  p: PoolParams,
): BitPoolGeometry {
  const [n, c, h, w] = shape;
  const [kh, kw] = p.kernel;
  const [sh, sw] = p.stride ?? [1, 1];
  const [pt, pl, pb, pr] = p.pads ?? [0, 0, 0, 0];
  const [dh, dw] = p.dilation ?? [1, 1];
  for (const v of [kh, kw, sh, sw, dh, dw]) checkInt('pool size', v, 1, 4096);
  const ceil = p.ceilMode === true;
  return {
    n,
    c,
    h,
    w,
    kh,
    kw,
    sh,
    sw,
    dh,
    dw,
    pt,
    pl,
    ho: poolOutput(h, kh, sh, pt, pb, dh, ceil),
    wo: poolOutput(w, kw, sw, pl, pr, dw, ceil),
  };
}

/** The pooled output's shape, [N, C, Ho, Wo]. */
export const pooledShape = (g: BitPoolGeometry): [number, number, number, number] => [g.n, g.c, g.ho, g.wo];

/**
 * The running max of packed codes over a window's taps, for `planes` planes m[0..planes): `identity`
 * (each plane's start, and what a tap that is not there stands for) and `fold`, statements that take
 * in one tap whose plane b is `word(b)`. Sign: the max of ±1 is −1 only where every tap is −1. k bits:
 * a bit-sliced max, from the top plane down: lanes where the tap is greater take the tap's bits.
 */
export function maxCodes(
  encoding: Exclude<PackedEncoding, { mode: 'sign0' }>,
  planes: number,
  word: (b: string) => string,
): { identity: string; fold: string } {
  if (encoding.mode === 'sign') return { identity: '0xffffffffu', fold: `m[0] &= ${word('0u')};` };
  return {
    identity: '0u',
    fold: `{
        var eq = 0xffffffffu;
        var gt = 0u;
        // top plane down; b wraps past 0 to end the loop
        for (var b = ${u(planes - 1)}; b < ${u(planes)}; b--) {
          let t = ${word('b')};
          gt |= eq & t & ~m[b];
          eq &= ~(t ^ m[b]);
        }
        for (var b = 0u; b < ${u(planes)}; b++) { m[b] = (m[b] & ~gt) | (${word('b')} & gt); }
      }`,
  };
}

const MAX_POOL_BITS: Program<{
  readonly geo: BitPoolGeometry;
  readonly encoding: Exclude<PackedEncoding, { mode: 'sign0' }>;
}> = {
  name: 'max-pool-bits',
  wgsl: ({ geo, encoding }) => {
    const words = Math.ceil(geo.c / 32);
    const inPlane = geo.n * geo.h * geo.w * words;
    const outPlane = geo.n * geo.ho * geo.wo * words;
    const planes = encodingPlanes(encoding);
    const at = `((n * ${u(geo.h)} + iy) * ${u(geo.w)} + ix) * ${u(words)} + wd`;
    const { identity, fold } = maxCodes(encoding, planes, (b) => `xb[${b} * ${u(inPlane)} + i]`);
    return elementwiseWgsl(
      bindings([
        ['xb', 'array<u32>', 'read'],
        ['y', 'array<u32>', 'read_write'],
      ]),
      u(outPlane),
      `let wd = e % ${u(words)};
  let s = (e / ${u(words)}) % ${u(geo.ho * geo.wo)};
  let n = e / ${u(words * geo.ho * geo.wo)};
  let oy = s / ${u(geo.wo)};
  let ox = s % ${u(geo.wo)};
  var m: array<u32, ${planes}>;
  for (var b = 0u; b < ${u(planes)}; b++) { m[b] = ${identity}; }
  var taps = 0u;
  ${windowLoop(windowLiterals(geo), 'oy', 'ox', `let i = ${at}; ${fold} taps++;`)}
  // a window wholly in the padding has no value; ONNX sizes never make one, so write zeros
  for (var b = 0u; b < ${u(planes)}; b++) { y[b * ${u(outPlane)} + e] = select(0u, m[b], taps > 0u); }`,
    );
  },
};

/**
 * MaxPool directly on packed planes `x` into `y` (shapes {@link packedShape} of [N, C, H, W] and
 * [N, C, Ho, Wo]): exact, as the max of codes is the code of the max for sign and k-bit encodings.
 */
export function encodeMaxPoolBits(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  geometry: BitPoolGeometry,
  encoding: PackedEncoding,
): void {
  checkEncoding(encoding);
  if (encoding.mode === 'sign0')
    throw new GpuError(
      'invalid-argument',
      'max pooling of packed sign0 (−1/0/+1) planes is not supported; pool the f32 values before packing.',
    );
  const g = geometry;
  const planes = encodingPlanes(encoding);
  const words = Math.ceil(g.c / 32);
  const inWords = planes * g.n * g.h * g.w * words;
  const outWords = planes * g.n * g.ho * g.wo * words;
  if (x.size !== inWords || y.size !== outWords)
    throw new GpuError(
      'invalid-argument',
      `a packed max pool of [${g.n}, ${g.c}, ${g.h}, ${g.w}] → ${g.ho}×${g.wo} needs ${inWords} input and ${outWords} output words, got ${x.size} and ${y.size}.`,
    );
  dispatchElementwise(r, 'max-pool-bits', MAX_POOL_BITS, { geo: g, encoding }, outWords / planes, [x, y]);
}
