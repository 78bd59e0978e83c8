import { checkInt, GpuError } from './errors.js';

/** Convolution parameters in ONNX's terms; pads are [top, left, bottom, right]. */
export interface ConvParams {
  readonly stride?: readonly [number, number];
  readonly pads?: readonly [number, number, number, number];
  readonly dilation?: readonly [number, number];
  readonly groups?: number;
}

/** Every size of a 2-D convolution, validated and resolved. */
export interface ConvGeometry {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly o: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly pt: number;
  readonly pl: number;
  readonly pb: number;
  readonly pr: number;
  readonly dh: number;
  readonly dw: number;
  readonly groups: number;
  /** Input channels per group. */
  readonly cg: number;
  /** Output channels per group. */
  readonly og: number;
  readonly ho: number;
  readonly wo: number;
  /** GEMM depth: cg·kh·kw. */
  readonly k: number;
}

/** Resolves a convolution of input [n, c, h, w] with weights [o, c/groups, kh, kw]. */
export function convGeometry(
  input: readonly number[],
  weights: readonly number[],
  p: ConvParams = {},
): ConvGeometry {
  if (input.length !== 4 || weights.length !== 4) {
    throw new GpuError(
      'invalid-argument',
      `a 2-D convolution needs a 4-D input and 4-D weights, got [${input.join(', ')}] and [${weights.join(', ')}].`,
    );
  }
  const [n, c, h, w] = input as [number, number, number, number];
  const [o, cg, kh, kw] = weights as [number, number, number, number];
  const [sh, sw] = p.stride ?? [1, 1];
  const [pt, pl, pb, pr] = p.pads ?? [0, 0, 0, 0];
  const [dh, dw] = p.dilation ?? [1, 1];
  const groups = p.groups ?? 1;
  for (const [what, v, min] of [
    ['batch', n, 1],
    ['channels', c, 1],
    ['height', h, 1],
    ['width', w, 1],
    ['output channels', o, 1],
    ['kernel height', kh, 1],
    ['kernel width', kw, 1],
    ['stride', sh, 1],
    ['stride', sw, 1],
    ['padding', pt, 0],
    ['padding', pl, 0],
    ['padding', pb, 0],
    ['padding', pr, 0],
    ['dilation', dh, 1],
    ['dilation', dw, 1],
    ['groups', groups, 1],
  ] as const) {
    checkInt(what, v, min, 2 ** 24);
  }
  if (c % groups !== 0 || o % groups !== 0 || cg !== c / groups) {
    throw new GpuError(
      'invalid-argument',
      `${c} input and ${o} output channels in ${groups} groups need weights [${o}, ${c / groups}, kh, kw], got [${weights.join(', ')}].`,
    );
  }
  const ho = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const wo = Math.floor((w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  if (ho < 1 || wo < 1)
    throw new GpuError(
      'invalid-argument',
      `a ${kh}×${kw} kernel (dilation ${dh}×${dw}) does not fit a ${h}×${w} input with pads [${pt}, ${pl}, ${pb}, ${pr}].`,
    );
  return {
    n,
    c,
    h,
    w,
    o,
    kh,
    kw,
    sh,
    sw,
    pt,
    pl,
    pb,
    pr,
    dh,
    dw,
    groups,
    cg,
    og: o / groups,
    ho,
    wo,
    k: cg * kh * kw,
  };
}

/** A key naming every size of the geometry (for caches of data derived from it). */
export function geometryKey(g: ConvGeometry): string {
  return [g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.pb, g.pr, g.dh, g.dw, g.groups].join(
    'x',
  );
}
