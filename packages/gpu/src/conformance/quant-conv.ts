import { packBitplanes, packSigns, packTernary, seededRandom } from '@zeroskip/quant';
import type { Gpu } from '../device.js';
import { bitPoolGeometry, pooledShape } from '../kernels/bit-pool.js';
import type { PoolParams } from '../kernels/ops.js';
import { encodePack, encodeUnpackBits, type PackedEncoding, packedShape } from '../kernels/pack-bits.js';
import { QuantConvLayer } from '../quant-conv-layer.js';
import {
  activationLevels,
  bitsCode,
  type QuantConvParams,
  type QuantConvSpec,
  quantConvGeometry,
  quantConvReference,
  quantLevels,
  sign0Code,
  signCode,
  weightLevels,
} from '../quant-conv-reference.js';
import { assert, assertEqual, ConformanceError } from './assert.js';
import type { ConformanceCase } from './case.js';

// QuantConv on packed planes against quantConvReference, and the data both this suite and the unit
// tests draw from: inputs right at the quantizers' steps, on-grid weights, thresholds around the
// accumulators' spread (exact integers, infinities and repeats among them).

export type Shape4 = [number, number, number, number];

export const int = (rand: () => number, lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

/** Values in [−1.2, 1.2] with exact zeros, ones and, for k-bit codes, points right at the rounding steps. */
export function quantInputs(rand: () => number, size: number, bits = 0): Float32Array {
  const levels = bits ? quantLevels(bits) : 1;
  return Float32Array.from({ length: size }, () => {
    const r = rand();
    if (r < 0.08) return 0;
    if (r < 0.12) return rand() < 0.5 ? 1 : -1;
    if (r < 0.3) {
      // (j − ½)/L and its f32 neighbours: where clamp·L + ½ crosses an integer
      const x = Math.fround((int(rand, 1, levels) - 0.5) / levels);
      const step = [-1, 0, 1][int(rand, 0, 2)]! * 2 ** -24;
      return Math.fround(x + step * x);
    }
    return Math.fround(rand() * 2.4 - 1.2);
  });
}

/** The packed words of codes as @zeroskip/quant lays them out (the independent packing reference). */
export function packedCodes(values: ArrayLike<number>, shape: Shape4, e: PackedEncoding): Uint32Array {
  if (e.mode === 'sign') return packSigns(values, shape).data;
  if (e.mode === 'sign0') {
    const t = packTernary(Array.from(values, sign0Code), shape);
    return Uint32Array.from([...t.nonzero.data, ...t.negative.data]);
  }
  const codes = Array.from(values, (v) => bitsCode(v, e.bits));
  return Uint32Array.from(packBitplanes(codes, shape, e.bits).planes.flatMap((p) => [...p.data]));
}

/** What a consumer of packed values reads back: the quantizer's codes as the spec's f32 values. */
export function decodedValues(values: ArrayLike<number>, e: PackedEncoding): Float32Array {
  if (e.mode === 'sign') return Float32Array.from(values, signCode);
  if (e.mode === 'sign0') return Float32Array.from(values, sign0Code);
  const levels = quantLevels(e.bits);
  return Float32Array.from(values, (v) => bitsCode(v, e.bits) / levels);
}

export function quantWeights(rand: () => number, spec: QuantConvSpec, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => {
    if (spec.weights === 'binary') return rand() < 0.5 ? -1 : 1;
    if (spec.weights === 'ternary') return int(rand, -1, 1);
    const lw = quantLevels(spec.weightBits!);
    return (2 * int(rand, 0, lw)) / lw - 1;
  });
}

/** Output parameters around the accumulators' spread, with exact-integer, infinite and repeated thresholds. */
export function quantParams(rand: () => number, spec: QuantConvSpec, o: number, k: number): QuantConvParams {
  const spread = Math.sqrt(k) * activationLevels(spec) * weightLevels(spec);
  if (spec.output === 'float')
    return {
      scale: Float32Array.from({ length: o }, () => rand() - 0.5),
      bias: Float32Array.from({ length: o }, () => rand() * 4 - 2),
    };
  const lo = spec.output === 'sign' ? 1 : quantLevels(spec.outputBits!);
  const t = new Float32Array(o * lo);
  for (let c = 0; c < o; c++) {
    const row = Array.from({ length: lo }, () => {
      const r = rand();
      const v = (rand() * 2 - 1) * spread;
      return r < 0.05 ? -Infinity : r < 0.1 ? Infinity : r < 0.4 ? Math.round(v) : v;
    }).sort((a, b) => a - b);
    if (lo > 1 && rand() < 0.3) row[1] = row[0]!;
    t.set(row, c * lo);
  }
  return { thresholds: t };
}

/**
 * Packs x on the GPU as the layer's input wants, runs the layer (with a float output's fused `residual`
 * and `sign` plane, or a packed output's max `pool`, when asked) and returns its output as the spec's
 * f32 values.
 */
export async function runQuantLayer(
  gpu: Gpu,
  spec: QuantConvSpec,
  x: Float32Array,
  xShape: Shape4,
  w: Float32Array,
  wShape: Shape4,
  params: QuantConvParams,
  options: {
    readonly sign?: boolean;
    readonly lanes?: number;
    readonly stageWeights?: boolean;
    readonly pool?: PoolParams;
  } = {},
): Promise<{ values: Float32Array; packed?: Uint32Array; sign?: Uint32Array; shape: Shape4 }> {
  const { lanes, stageWeights, pool: poolParams, ...flags } = options;
  const layer = new QuantConvLayer(gpu, spec, w, wShape, params, {
    ...(lanes === undefined ? {} : { lanes }),
    ...(stageWeights === undefined ? {} : { stageWeights }),
  });
  const geo = layer.geometry(xShape);
  const convShape: Shape4 = [geo.n, geo.o, geo.ho, geo.wo];
  const pool = poolParams && bitPoolGeometry(convShape, poolParams);
  const yShape: Shape4 = pool ? pooledShape(pool) : convShape;
  const epilogue = { ...flags, ...(pool ? { pool } : {}) };
  const xt = gpu.tensor(xShape, x);
  const xb = gpu.empty(packedShape(xShape, layer.inputEncoding), 'u32');
  const rt = params.residual ? gpu.tensor(yShape, Float32Array.from(params.residual)) : undefined;
  const out = layer.outputEncoding ? gpu.empty(yShape) : undefined;
  let y: ReturnType<QuantConvLayer['encodeFused']> | undefined;
  await gpu.submit((r) => {
    encodePack(r, xt, xb, xShape, layer.inputEncoding);
    y = layer.encodeFused(r, xb, { ...(rt ? { residual: rt } : {}), ...epilogue });
    if (out && layer.outputEncoding) encodeUnpackBits(r, y.y, out, yShape, layer.outputEncoding);
  });
  const result = {
    ...(out
      ? { values: await gpu.read(out), packed: await gpu.readU32(y!.y) }
      : { values: await gpu.read(y!.y) }),
    ...(y!.sign ? { sign: await gpu.readU32(y!.sign) } : {}),
    shape: yShape,
  };
  layer.destroy();
  for (const t of [xt, xb, y!.y, ...(y!.sign ? [y!.sign] : []), ...(rt ? [rt] : []), ...(out ? [out] : [])])
    gpu.release(t);
  return result;
}

/**
 * f32 S·acc + B may be one fused multiply-add on the GPU: allow the spec's first rounding's error,
 * which a residual R added after it carries along (S·acc = want − R − B).
 */
export function checkFloatOutput(
  got: Float32Array,
  want: Float32Array,
  params: QuantConvParams,
  o: number,
  hw: number,
) {
  assert(got.length === want.length, `${got.length} outputs, want ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const c = Math.floor(i / hw) % o;
    const r = params.residual?.[i] ?? 0;
    const tol =
      2 ** -22 * (Math.abs(want[i]!) + Math.abs(want[i]! - r) + Math.abs(want[i]! - r - params.bias![c]!)) +
      1e-30;
    if (!(Math.abs(got[i]! - want[i]!) <= tol))
      throw new ConformanceError(`output ${i}: got ${got[i]}, want ${want[i]} (tolerance ${tol})`);
  }
}

/**
 * A fused float epilogue's outputs against the reference: y within {@link checkFloatOutput}'s
 * tolerance, and the sign plane exactly the packing of the y the GPU wrote (what an unfused pack of it
 * would give).
 */
export function checkFusedOutput(
  got: { values: Float32Array; sign?: Uint32Array; shape: Shape4 },
  want: Float32Array,
  params: QuantConvParams,
) {
  const [, o, ho, wo] = got.shape;
  checkFloatOutput(got.values, want, params, o, ho * wo);
  assert(got.sign !== undefined, 'the fused layer wrote no sign plane');
  assertEqual(got.sign, packedCodes(got.values, got.shape, { mode: 'sign' }), 'sign plane of y');
}

export const ACTIVATIONS: Pick<QuantConvSpec, 'activations' | 'activationBits'>[] = [
  { activations: 'sign' },
  { activations: 'sign0' },
  { activations: 'bits', activationBits: 2 },
  { activations: 'bits', activationBits: 1 },
];
export const WEIGHTS: Pick<QuantConvSpec, 'weights' | 'weightBits'>[] = [
  { weights: 'binary' },
  { weights: 'ternary' },
  { weights: 'bits', weightBits: 3 },
  { weights: 'bits', weightBits: 1 },
];
export const OUTPUTS: Pick<QuantConvSpec, 'output' | 'outputBits'>[] = [
  { output: 'float' },
  { output: 'sign' },
  { output: 'bits', outputBits: 2 },
];

/** Sign and 2-bit activations × every weight mode on one geometry with 4-word vectors, output modes in turn. */
const packedCases: ConformanceCase[] = [ACTIVATIONS[0]!, ACTIVATIONS[2]!].map((a, i) => ({
  group: 'quant conv (packed)',
  name: `${a.activations}${a.activationBits ?? ''} activations × every weight mode: x [2, 100, 5, 4] → 40, 3×3, stride 2, pads 1`,
  run: async (gpu: Gpu) => {
    const rand = seededRandom(300 + i);
    const xShape: Shape4 = [2, 100, 5, 4];
    const wShape: Shape4 = [40, 100, 3, 3];
    for (const [j, w] of WEIGHTS.entries()) {
      const spec: QuantConvSpec = {
        ...a,
        ...w,
        ...OUTPUTS[(i + j) % OUTPUTS.length]!,
        conv: { stride: [2, 2], pads: [1, 1, 1, 1] },
      };
      const { x, w: wt, geo } = quantData(rand, xShape, wShape, spec);
      const params = quantParams(rand, spec, geo.o, geo.k);
      const want = quantConvReference(x, xShape, wt, wShape, spec, params);
      const got = await runQuantLayer(gpu, spec, x, xShape, wt, wShape, params);
      if (spec.output === 'float') checkFloatOutput(got.values, want, params, geo.o, geo.ho * geo.wo);
      else assertEqual(got.values, want, `${spec.weights} weights, ${spec.output} output`);
    }
  },
}));

/** Seeded inputs and weights of one layer's shapes for a spec (inputs first), with the conv's sizes. */
export function quantData(rand: () => number, xShape: Shape4, wShape: Shape4, spec: QuantConvSpec) {
  const size = (shape: Shape4) => shape.reduce((p, d) => p * d);
  return {
    x: quantInputs(rand, size(xShape), spec.activationBits ?? 0),
    w: quantWeights(rand, spec, size(wShape)),
    geo: quantConvGeometry(xShape, wShape, spec),
  };
}

/** Residuals of the output's size: values of the outputs' spread (so that they move signs), some exactly 0. */
export function quantResidual(rand: () => number, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => (rand() < 0.1 ? 0 : Math.fround(rand() * 6 - 3)));
}

/** Bi-Real blocks, one dispatch each: sign × binary, float output + residual + the sum's sign plane. */
const fusedCases: ConformanceCase[] = [
  { x: [1, 64, 6, 5] as Shape4, o: 64, stride: 1 },
  { x: [2, 96, 7, 7] as Shape4, o: 40, stride: 2 },
].map(({ x: xShape, o, stride }, i) => ({
  group: 'quant conv (packed)',
  name: `Bi-Real block: x [${xShape.join(', ')}] → ${o}, 3×3, stride ${stride}, + residual, sign plane`,
  run: async (gpu: Gpu) => {
    const rand = seededRandom(400 + i);
    const spec: QuantConvSpec = {
      activations: 'sign',
      weights: 'binary',
      output: 'float',
      conv: { stride: [stride, stride], pads: [1, 1, 1, 1] },
    };
    const wShape: Shape4 = [o, xShape[1], 3, 3];
    const { x, w, geo } = quantData(rand, xShape, wShape, spec);
    const params = {
      ...quantParams(rand, spec, geo.o, geo.k),
      residual: quantResidual(rand, geo.n * geo.o * geo.ho * geo.wo),
    };
    const want = quantConvReference(x, xShape, w, wShape, spec, params);
    checkFusedOutput(
      await runQuantLayer(gpu, spec, x, xShape, w, wShape, params, { sign: true }),
      want,
      params,
    );
  },
}));

export const quantConvCases: ConformanceCase[] = [...packedCases, ...fusedCases];
