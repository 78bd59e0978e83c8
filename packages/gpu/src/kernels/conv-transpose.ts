import type { Program } from '../device.js';
import { checkInt, GpuError } from '../errors.js';
import type { ConvGeometry } from '../geometry.js';
import type { Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { type Activation, activationFn, bindings, u } from '../wgsl.js';
import { dispatchElementwise, elementwiseWgsl } from './elementwise.js';

// ConvTranspose 2-D as a gather: each output pixel sums the input pixels and taps that reach it
// (oy = iy·stride − pad + ky·dilation), so no two invocations write the same element and no atomics
// are needed. The pipeline is specialised per layer geometry: the divisibility tests on the stride
// compile to cheap constant arithmetic.

export const AUTO_PADS = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'] as const;
export type AutoPad = (typeof AUTO_PADS)[number];

/** ConvTranspose attributes in ONNX's terms, spatial axes only; pads are [top, left, bottom, right]. */
export interface ConvTransposeAttributes {
  readonly strides?: readonly [number, number];
  readonly dilations?: readonly [number, number];
  readonly pads?: readonly [number, number, number, number];
  readonly outputPadding?: readonly [number, number];
  readonly autoPad?: AutoPad;
  /** ONNX output_shape (its spatial part): the pads are then derived from it. */
  readonly outputShape?: readonly [number, number];
  readonly groups?: number;
}

/**
 * The output size and the resolved pads of one spatial axis, as ONNX specifies and ONNX Runtime
 * computes them. An explicit output size sets the total padding; its odd unit goes to the end under
 * SAME_UPPER and to the beginning otherwise (auto_pad NOTSET and VALID included).
 */
function transposeAxis(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  outputPadding: number,
  padBegin: number,
  padEnd: number,
  autoPad: AutoPad,
  outputSize: number | undefined,
): { out: number; begin: number; end: number } {
  const span = (size - 1) * stride + outputPadding + (kernel - 1) * dilation + 1;
  if (outputSize !== undefined) {
    const total = span - outputSize;
    if (total < 0)
      throw new GpuError(
        'invalid-argument',
        `ConvTranspose output_shape ${outputSize} exceeds the ${span} outputs that the input of ${size} reaches; use at most ${span}.`,
      );
    const half = Math.floor(total / 2);
    return autoPad === 'SAME_UPPER'
      ? { out: outputSize, begin: half, end: total - half }
      : { out: outputSize, begin: total - half, end: half };
  }
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    // ONNX Runtime never pads past the full transposed length when the kernel's reach is short
    const out = Math.min(span, size * stride);
    const total = Math.max(0, span - out);
    const half = Math.floor(total / 2);
    return autoPad === 'SAME_UPPER'
      ? { out, begin: half, end: total - half }
      : { out, begin: total - half, end: half };
  }
  if (autoPad === 'VALID') return { out: span, begin: 0, end: 0 };
  return { out: span - padBegin - padEnd, begin: padBegin, end: padEnd };
}

/**
 * ONNX ConvTranspose's output size [ho, wo] of an input of [h, w] with a kernel of [kh, kw], and the
 * pads [top, left, bottom, right] that auto_pad or output_shape resolve to.
 */
export function convTransposeOutput(
  input: readonly [number, number],
  kernel: readonly [number, number],
  a: ConvTransposeAttributes = {},
): { size: [number, number]; pads: [number, number, number, number] } {
  const autoPad = a.autoPad ?? 'NOTSET';
  if (!AUTO_PADS.includes(autoPad))
    throw new GpuError(
      'invalid-argument',
      `unknown auto_pad '${autoPad}'; use one of ${AUTO_PADS.join(', ')}.`,
    );
  const [sh, sw] = a.strides ?? [1, 1];
  const [dh, dw] = a.dilations ?? [1, 1];
  const [pt, pl, pb, pr] = a.pads ?? [0, 0, 0, 0];
  const [oph, opw] = a.outputPadding ?? [0, 0];
  for (const v of [sh, sw, dh, dw, ...kernel, ...input]) checkInt('a ConvTranspose size', v, 1, 1 << 20);
  for (const v of [pt, pl, pb, pr, oph, opw, ...(a.outputShape ?? [])])
    checkInt('a ConvTranspose padding or output size', v, 0, 1 << 20);
  // ONNX requires output_padding < stride or < dilation; more would place outputs no input reaches
  if (!(oph < Math.max(sh, dh) && opw < Math.max(sw, dw)))
    throw new GpuError(
      'invalid-argument',
      `output_padding [${oph}, ${opw}] must be smaller than the stride or the dilation of its axis.`,
    );
  const y = transposeAxis(input[0], kernel[0], sh, dh, oph, pt, pb, autoPad, a.outputShape?.[0]);
  const x = transposeAxis(input[1], kernel[1], sw, dw, opw, pl, pr, autoPad, a.outputShape?.[1]);
  if (y.out < 1 || x.out < 1)
    throw new GpuError(
      'invalid-argument',
      `ConvTranspose of [${input.join(', ')}] gives an empty output [${y.out}, ${x.out}]; reduce the pads.`,
    );
  return { size: [y.out, x.out], pads: [y.begin, x.begin, y.end, x.end] };
}

/**
 * Every size of a 2-D ConvTranspose, resolved, in a convolution's terms: o output channels of
 * weights [c, og, kh, kw]; pt and pl the top and left pads (the bottom and right ones only shorten
 * the output).
 */
export type ConvTransposeGeometry = Pick<
  ConvGeometry,
  | 'n'
  | 'c'
  | 'h'
  | 'w'
  | 'o'
  | 'kh'
  | 'kw'
  | 'sh'
  | 'sw'
  | 'dh'
  | 'dw'
  | 'pt'
  | 'pl'
  | 'groups'
  | 'cg'
  | 'og'
  | 'ho'
  | 'wo'
>;

/** Resolves a ConvTranspose of input [n, c, h, w] with ONNX weights [c, o/groups, kh, kw]. */
export function convTransposeGeometry(
  input: readonly number[],
  weights: readonly number[],
  a: ConvTransposeAttributes = {},
): ConvTransposeGeometry {
  if (input.length !== 4 || weights.length !== 4)
    throw new GpuError(
      'invalid-argument',
      `a 2-D ConvTranspose needs a 4-D input and 4-D weights, got [${input.join(', ')}] and [${weights.join(', ')}].`,
    );
  const [n, c, h, w] = input as [number, number, number, number];
  const [wc, og, kh, kw] = weights as [number, number, number, number];
  const groups = a.groups ?? 1;
  checkInt('batch', n, 1, 1 << 20);
  checkInt('groups', groups, 1, c);
  if (wc !== c || c % groups !== 0 || og < 1)
    throw new GpuError(
      'invalid-argument',
      `ConvTranspose weights [${weights.join(', ')}] do not fit ${c} input channels in ${groups} groups (expected [${c}, o/groups, kh, kw]).`,
    );
  const { size, pads } = convTransposeOutput([h, w], [kh, kw], a);
  const [sh, sw] = a.strides ?? [1, 1];
  const [dh, dw] = a.dilations ?? [1, 1];
  return {
    n,
    c,
    h,
    w,
    o: og * groups,
    kh,
    kw,
    sh,
    sw,
    dh,
    dw,
    pt: pads[0],
    pl: pads[1],
    groups,
    cg: c / groups,
    og,
    ho: size[0],
    wo: size[1],
  };
}

interface ConvTransposeSpec {
  readonly geo: ConvTransposeGeometry;
  readonly bias: boolean;
  readonly activation: Activation;
}

/** WGSL of the input index i (u32) reached by output coordinate o through tap k, or `continue`. */
function inputTap(
  i: string,
  o: string,
  k: string,
  pad: number,
  dilation: number,
  stride: number,
  size: number,
) {
  return `let t${i} = i32(${o}) + ${pad} - i32(${k} * ${u(dilation)});
      if (t${i} < 0 || t${i} % ${stride} != 0) { continue; }
      let ${i} = u32(t${i}) / ${u(stride)};
      if (${i} >= ${u(size)}) { continue; }`;
}

const convTransposeProgram: Program<ConvTransposeSpec> = {
  name: 'conv-transpose',
  wgsl: ({ geo: g, bias, activation }) => {
    const { cg, og } = g;
    return elementwiseWgsl(
      `${bindings([
        ['x', 'array<f32>', 'read'],
        ['w', 'array<f32>', 'read'],
        ...(bias ? [['bias', 'array<f32>', 'read'] as const] : []),
        ['y', 'array<f32>', 'read_write'],
      ])}
${activationFn(activation)}`,
      u(g.n * g.o * g.ho * g.wo),
      `let ox = e % ${u(g.wo)};
  let oy = (e / ${u(g.wo)}) % ${u(g.ho)};
  let oc = (e / ${u(g.ho * g.wo)}) % ${u(g.o)};
  let n = e / ${u(g.o * g.ho * g.wo)};
  let grp = oc / ${u(og)};
  // x[n, grp·cg + c, iy, ix] and w[grp·cg + c, oc % og, ky, kx], c = 0 at the start of the channel loop
  let xImage = (n * ${u(g.c)} + grp * ${u(cg)}) * ${u(g.h * g.w)};
  let wFilter = (grp * ${u(cg * og)} + oc % ${u(og)}) * ${u(g.kh * g.kw)};
  var acc = ${bias ? 'bias[oc]' : '0.0'};
  for (var ky = 0u; ky < ${u(g.kh)}; ky++) {
    ${inputTap('iy', 'oy', 'ky', g.pt, g.dh, g.sh, g.h)}
    for (var kx = 0u; kx < ${u(g.kw)}; kx++) {
      ${inputTap('ix', 'ox', 'kx', g.pl, g.dw, g.sw, g.w)}
      let xi = xImage + iy * ${u(g.w)} + ix;
      let wi = wFilter + ky * ${u(g.kw)} + kx;
      for (var c = 0u; c < ${u(cg)}; c++) {
        acc = fma(x[xi + c * ${u(g.h * g.w)}], w[wi + c * ${u(og * g.kh * g.kw)}], acc);
      }
    }
  }
  y[e] = act(acc);`,
    );
  },
};

/** y = act(ConvTranspose(x, w) + bias) for a geometry from {@link convTransposeGeometry}. */
export function encodeConvTranspose(
  r: Recorder,
  geo: ConvTransposeGeometry,
  buffers: { x: GpuTensor; w: GpuTensor; bias?: GpuTensor; y: GpuTensor },
  activation: Activation = 'none',
): void {
  const { x, w, bias, y } = buffers;
  const expect = (t: GpuTensor, what: string, size: number) => {
    if (t.size !== size)
      throw new GpuError('invalid-argument', `ConvTranspose ${what} needs ${size} elements, got ${t.size}.`);
  };
  expect(x, 'input', geo.n * geo.c * geo.h * geo.w);
  expect(w, 'weights', geo.c * geo.og * geo.kh * geo.kw);
  if (bias) expect(bias, 'bias', geo.o);
  expect(y, 'output', geo.n * geo.o * geo.ho * geo.wo);
  dispatchElementwise(
    r,
    'conv-transpose',
    convTransposeProgram,
    { geo, bias: bias !== undefined, activation },
    y.size,
    bias ? [x, w, bias, y] : [x, w, y],
  );
}

/**
 * ConvTranspose by scattering: every input pixel adds its weighted kernel into the output (the
 * operator's definition, the other way round from the kernel's gather).
 */
export function convTransposeReference(
  g: ConvTransposeGeometry,
  x: Float32Array,
  w: Float32Array,
  bias?: Float32Array,
): Float32Array {
  const { cg, og } = g;
  const y = new Float32Array(g.n * g.o * g.ho * g.wo);
  for (let n = 0; n < g.n; n++)
    for (let o = 0; o < g.o; o++)
      y.fill(bias?.[o] ?? 0, (n * g.o + o) * g.ho * g.wo, (n * g.o + o + 1) * g.ho * g.wo);
  for (let n = 0; n < g.n; n++)
    for (let ci = 0; ci < g.c; ci++) {
      const grp = Math.floor(ci / cg);
      for (let iy = 0; iy < g.h; iy++)
        for (let ix = 0; ix < g.w; ix++) {
          const v = x[((n * g.c + ci) * g.h + iy) * g.w + ix]!;
          for (let j = 0; j < og; j++) {
            const o = grp * og + j;
            for (let ky = 0; ky < g.kh; ky++) {
              const oy = iy * g.sh - g.pt + ky * g.dh;
              if (oy < 0 || oy >= g.ho) continue;
              for (let kx = 0; kx < g.kw; kx++) {
                const ox = ix * g.sw - g.pl + kx * g.dw;
                if (ox < 0 || ox >= g.wo) continue;
                y[((n * g.o + o) * g.ho + oy) * g.wo + ox]! +=
                  v * w[((ci * og + j) * g.kh + ky) * g.kw + kx]!;
              }
            }
          }
        }
    }
  return y;
}
