import {
  type ConvGeometry,
  encodePack,
  GpuError,
  type GpuTensor,
  MAX_QUANT_BITS,
  offGridWeight,
  outputLevels,
  type PackedEncoding,
  packedShape,
  QUANT_ACTIVATIONS,
  QUANT_OUTPUTS,
  QUANT_WEIGHTS,
  QuantConvLayer,
  type QuantConvParams,
  type QuantConvSpec,
  quantConvGeometry,
  quantConvReference,
  quantOutputEncoding,
  signCode,
  unorderedThresholdRow,
} from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, attrNumbers, attrString, type GraphNode } from '../graph.js';
import { window2d } from '../shapes.js';
import { float32, type Tensor } from '../tensor.js';
import { maxPool } from './pool.js';
import { bitPoolWindow, fusedPool, holdsPool } from './pool-window.js';
import type { OpContext, OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

// Zeroskip's own QuantConv (ONNX domain ai.zeroskip): an exact integer convolution of quantized
// activations and weights, then a float affine or a thresholding into codes. The semantics live in
// @zeroskip/gpu's quant-conv-reference; this module reads the node's attributes and checks its inputs.
// A "float" output may take a fifth input R, added to S·acc + B (a Bi-Real shortcut), and may have
// two outputs: Sign(Y) (±1, the "sign" quantizer, kept bit-packed on the GPU for the binary layers
// that read it) first, then Y. Both fuse a block's epilogue into its one dispatch. With "sign"
// activations, attributes input_scale d (each −1, 0 or +1) and input_shift e [C] quantize the sign of
// d·x + e per channel instead of x's: a batch norm in front, folded into the packing. A "sign" or
// "bits" output may be max pooled by the node itself (attributes of the MaxPool with the prefix pool_,
// made by fuseQuantConvPool): the GPU then pools the packed codes in the conv's own dispatch.

function invalid(node: GraphNode, message: string): never {
  throw new RuntimeError('invalid-model', `QuantConv node '${node.name}' ${message}`);
}

function mode<T extends string>(node: GraphNode, key: string, modes: readonly T[]): T {
  const v = attrString(node, key, '');
  if (!(modes as readonly string[]).includes(v))
    invalid(node, `has ${key} '${v}'; set it to one of ${modes.map((m) => `'${m}'`).join(', ')}.`);
  return v as T;
}

function bits(node: GraphNode, key: string): number {
  const v = node.attrs[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_QUANT_BITS)
    invalid(node, `needs ${key}, an integer in 1..${MAX_QUANT_BITS}, for its "bits" mode; got ${String(v)}.`);
  return v;
}

/** The node's spec for an input of `xShape`: modes, bit widths and geometry from its attributes. */
export function quantConvSpec(
  node: GraphNode,
  xShape: readonly number[],
  wShape: readonly number[],
): QuantConvSpec {
  const activations = mode(node, 'activations', QUANT_ACTIVATIONS);
  const weights = mode(node, 'weights', QUANT_WEIGHTS);
  const output = mode(node, 'output', QUANT_OUTPUTS);
  const group = attrNumber(node, 'group', 1);
  if (group !== 1) invalid(node, `has group ${group}; a QuantConv has one group.`);
  if (xShape.length !== 4 || wShape.length !== 4)
    invalid(
      node,
      `needs X [N, C, H, W] and W [O, C, kh, kw], got [${xShape.join(', ')}] and [${wShape.join(', ')}].`,
    );
  const kernel = wShape.slice(2);
  const declared = attrNumbers(node, 'kernel_shape');
  if (declared && declared.join() !== kernel.join())
    invalid(
      node,
      `has kernel_shape [${declared.join(', ')}] but W is [${wShape.join(', ')}]; make them agree.`,
    );
  const win = window2d(node, xShape, kernel);
  return {
    activations,
    weights,
    output,
    ...(activations === 'bits' ? { activationBits: bits(node, 'activation_bits') } : {}),
    ...(weights === 'bits' ? { weightBits: bits(node, 'weight_bits') } : {}),
    ...(output === 'bits' ? { outputBits: bits(node, 'output_bits') } : {}),
    conv: { stride: win.stride, pads: win.pads, dilation: win.dilation },
  };
}

const outputShape = (g: ConvGeometry) => [g.n, g.o, g.ho, g.wo];

/** Names and shapes of the output transform's inputs (after X and W). */
function paramShapes(spec: QuantConvSpec, o: number): [string, number[]][] {
  return spec.output === 'float'
    ? [
        ['S', [o]],
        ['B', [o]],
      ]
    : [['T', [o, outputLevels(spec)]]];
}

/** Whether a float QuantConv writes Sign(Y) as output 0 before Y. */
const signsOutput = (node: GraphNode) => node.outputs.length === 2;

/** Inputs that must be constants: W and the output transform's parameters (not the residual R). */
const constantInputs = (node: GraphNode) =>
  node.inputs.slice(1, attrString(node, 'output', '') === 'float' ? 4 : 3);

/** The per-channel map d·x + e in front of the sign quantizer (see the module comment). */
export interface InputAffine {
  readonly scale: Float32Array;
  readonly shift: Float32Array;
}

function inputAffine(node: GraphNode, spec: QuantConvSpec, c: number): InputAffine | undefined {
  const [d, e] = [attrNumbers(node, 'input_scale'), attrNumbers(node, 'input_shift')];
  if (d === undefined && e === undefined) return undefined;
  if (
    spec.activations !== 'sign' ||
    d?.length !== c ||
    e?.length !== c ||
    !d.every((v) => Math.abs(v) <= 1 && Number.isInteger(v))
  )
    invalid(
      node,
      `has input_scale and input_shift that do not fit: they go with "sign" activations, one of each per input channel (${c}), the scales −1, 0 or +1; got ${d?.length ?? 'no'} scales and ${e?.length ?? 'no'} shifts with "${spec.activations}" activations.`,
    );
  return { scale: Float32Array.from(d), shift: Float32Array.from(e) };
}

/** Where each weight array's first value off each grid lies, by `weights/bits`: checked once per tensor. */
const offGrid = new WeakMap<Float32Array, Map<string, number>>();

/**
 * {@link offGridWeight}, remembered per weight array: shape inference, planning and encoding each
 * resolve the node, and each scan reads every weight (11 M of them in a binary ResNet-18).
 */
function firstOffGrid(w: Float32Array, spec: QuantConvSpec): number {
  const key = `${spec.weights}/${spec.weightBits}`;
  let byGrid = offGrid.get(w);
  if (!byGrid) {
    byGrid = new Map();
    offGrid.set(w, byGrid);
  }
  let bad = byGrid.get(key);
  if (bad === undefined) {
    bad = offGridWeight(w, spec.weights, spec.weightBits);
    byGrid.set(key, bad);
  }
  return bad;
}

/** Every check of the node against its inputs (W's contents must be known); its spec and geometry. */
export function resolveQuantConv(
  node: GraphNode,
  inputs: readonly (ValueInfo | undefined)[],
): {
  spec: QuantConvSpec;
  geo: ConvGeometry;
  residual: boolean;
  affine: InputAffine | undefined;
  pool: GraphNode | undefined;
} {
  const x = need(node, inputs, 0);
  const w = need(node, inputs, 1);
  const spec = quantConvSpec(node, x.shape, w.shape);
  let geo: ConvGeometry;
  try {
    geo = quantConvGeometry(x.shape, w.shape, spec);
  } catch (e) {
    if (e instanceof GpuError) invalid(node, `does not fit its input: ${e.message}`);
    throw e;
  }
  if (!w.value)
    invalid(node, 'takes W from a value computed at run time; W must be a constant (an initializer).');
  for (const [name, t] of [
    ['X', x],
    ['W', w],
  ] as const)
    if (t.dtype !== 'float32') invalid(node, `needs a float32 ${name}, got ${t.dtype}.`);
  const bad = firstOffGrid(w.value.data as Float32Array, spec);
  if (bad >= 0)
    invalid(
      node,
      `has W value ${w.value.data[bad]} at index ${bad}, off the "${spec.weights}" grid${spec.weights === 'bits' ? ` of ${spec.weightBits} bits (2q/(2^k − 1) − 1)` : ''}; quantize W first.`,
    );
  const params = paramShapes(spec, geo.o);
  const float = spec.output === 'float';
  const residual = float && node.inputs.length === 5 && node.inputs[4] !== '';
  if (node.inputs.length !== 2 + params.length && !(float && node.inputs.length === 5))
    invalid(
      node,
      `with "${spec.output}" output takes ${2 + params.length} inputs (X, W, ${params.map(([n]) => n).join(', ')}${float ? ', and optionally R' : ''}), got ${node.inputs.length}.`,
    );
  if (node.outputs.length !== 1 && !(float && node.outputs.length === 2))
    invalid(node, `has ${node.outputs.length} outputs; it has Y, or with "float" output Sign(Y) and Y.`);
  if (residual) params.push(['R', outputShape(geo)]);
  params.forEach(([name, shape], i) => {
    const p = need(node, inputs, 2 + i);
    if (p.dtype !== 'float32' || p.shape.join() !== shape.join())
      invalid(
        node,
        `needs ${name} of float32 [${shape.join(', ')}], got ${p.dtype} [${p.shape.join(', ')}].`,
      );
  });
  const t = spec.output === 'float' ? undefined : inputs[2]?.value;
  const row = t ? unorderedThresholdRow(t.data, geo.o, outputLevels(spec)) : -1;
  if (row >= 0)
    invalid(node, `has thresholds T[${row}] that are NaN or decrease; each row must be nondecreasing.`);
  const pool = holdsPool(node) ? fusedPool(node, 'conv') : undefined;
  if (pool && float)
    invalid(
      node,
      'has pool_ attributes with a "float" output; only "sign" and "bits" outputs are pooled by the node, so pool a float output with a MaxPool of its own.',
    );
  return { spec, geo, residual, affine: inputAffine(node, spec, geo.c), pool };
}

function run(node: GraphNode, inputs: readonly (Tensor | undefined)[], ctx: OpContext): Tensor[] {
  const { spec, geo, residual, affine, pool } = resolveQuantConv(
    node,
    inputs.map((t) => t && { shape: t.shape, dtype: t.dtype, value: t }),
  );
  const [x0, w, p0, p1, r] = inputs as [Tensor, Tensor, Tensor, Tensor | undefined, Tensor | undefined];
  // only the sign of d·x + e is quantized, and its sign is exact whatever the rounding
  const plane = geo.h * geo.w;
  const x = affine
    ? float32(
        x0.shape,
        Float32Array.from(x0.data, (v, i) => {
          const c = Math.floor(i / plane) % geo.c;
          return affine.scale[c]! * v + affine.shift[c]!;
        }),
      )
    : x0;
  const params: QuantConvParams =
    spec.output === 'float'
      ? { scale: p0.data, bias: p1!.data, ...(residual ? { residual: r!.data } : {}) }
      : { thresholds: p0.data };
  const y = float32(outputShape(geo), quantConvReference(x.data, x.shape, w.data, w.shape, spec, params));
  // the max of codes is the code of the max
  if (pool) return maxPool.run(pool, [y], ctx);
  return signsOutput(node) ? [float32(y.shape, Float32Array.from(y.data, signCode)), y] : [y];
}

const SIGN: PackedEncoding = { mode: 'sign' };

const sameEncoding = (a: PackedEncoding | undefined, b: PackedEncoding) =>
  a?.mode === b.mode && (a.mode !== 'bits' || (b.mode === 'bits' && a.bits === b.bits));

export const quantConv: OpDef = {
  op: 'QuantConv',
  infer(node, inputs, ctx) {
    const { geo, pool } = resolveQuantConv(node, inputs);
    const y = { shape: outputShape(geo), dtype: 'float32' } as const;
    if (pool) return maxPool.infer(pool, [y], ctx);
    return signsOutput(node) ? [y, y] : [y];
  },
  run,
  gpu: {
    plan(node, inputs, ctx) {
      if (inputs[0]?.dtype !== 'float32' || constantInputs(node).some((name) => !ctx.constant(name)))
        return undefined;
      const { spec, pool } = resolveQuantConv(node, inputs);
      const outputBits = signsOutput(node) ? SIGN : quantOutputEncoding(spec);
      return {
        kernel: `quant-conv-${spec.activations}-${spec.weights}${pool ? '-pool' : ''}`,
        ...(outputBits ? { outputBits } : {}),
      };
    },
    encode(node, ctx) {
      const { layer, x4, residual, affine, pool } = ctx.planned(() => {
        const { spec, geo, residual, affine, pool } = resolveQuantConv(node, ctx.inputs);
        const w = ctx.constant(node.inputs[1]!)!;
        const [p0, p1] = constantInputs(node)
          .slice(1)
          .map((name) => ctx.constant(name)!.data);
        const params: QuantConvParams =
          spec.output === 'float' ? { scale: p0!, bias: p1! } : { thresholds: p0! };
        const layer = ctx.cached(
          'layer',
          () =>
            new QuantConvLayer(ctx.gpu, spec, w.data, w.shape as [number, number, number, number], params),
        );
        const onGpu =
          affine &&
          ctx.cached('input-affine', () => {
            const t = {
              scale: ctx.gpu.tensor([affine.scale.length], affine.scale),
              shift: ctx.gpu.tensor([affine.shift.length], affine.shift),
            };
            return {
              ...t,
              destroy: () => {
                ctx.gpu.release(t.scale);
                ctx.gpu.release(t.shift);
              },
            };
          });
        return {
          layer,
          x4: ctx.inputs[0]!.shape as [number, number, number, number],
          residual,
          affine: onGpu,
          pool: pool && bitPoolWindow(pool, outputShape(geo) as [number, number, number, number]),
        };
      });
      const sign = signsOutput(node);
      const epilogue = {
        ...(residual ? { residual: ctx.input(4) } : {}),
        ...(sign ? { sign } : {}),
        ...(pool ? { pool } : {}),
      };
      const outputs = (y: { y: GpuTensor; sign?: GpuTensor }) => (y.sign ? [y.sign, y.y] : [y.y]);
      // quantized activations from the layer before stay packed; float ones are packed here
      const packed = ctx.packed(0);
      if (packed && !affine && sameEncoding(ctx.bits(node.inputs[0]!), layer.inputEncoding))
        return outputs(layer.encodeFused(ctx.r, packed, epilogue));
      const x = ctx.gpu.empty(packedShape(x4, layer.inputEncoding), 'u32');
      encodePack(ctx.r, ctx.input(0), x, x4, layer.inputEncoding, affine);
      const y = layer.encodeFused(ctx.r, x, epilogue);
      ctx.gpu.release(x);
      return outputs(y);
    },
  },
};
