import { ConvPoolSignLayer, type PackedEncoding, type SignAffine, signCode } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { type AttributeValue, attrNumber, attrNumbers, type GraphNode } from '../graph.js';
import { asFloat32, float32, type Tensor } from '../tensor.js';
import { conv, fusedActivation, geometry } from './conv.js';
import { maxPool } from './pool.js';
import { bitPoolWindow, fusedPool, POOL_PREFIX, prefixedPoolAttrs } from './pool-window.js';
import type { OpContext, OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

// Zeroskip's own ConvPoolSign (ONNX domain ai.zeroskip): a binary network's float first layer up to
// the next layer's packing, Conv → MaxPool → Sign(d·y + e) per channel, as ±1. The GPU runs it as one
// dispatch that writes the packed signs the binary layer after it reads (fuseConvPoolSign makes it).
// Attributes: the Conv's own (kernel_shape, strides, pads, dilations, auto_pad, group), its fused
// activation as conv_activation; the MaxPool's with the prefix pool_; sign_scale d (each −1, 0 or +1)
// and sign_shift e, one per output channel, or neither (d = 1, e = 0).

const SIGN_KEYS = ['sign_scale', 'sign_shift'] as const;

/** The node that fuses `convNode`, the MaxPool `poolNode` reading it, and the sign map `sign` (none: d = 1, e = 0). */
export function convPoolSignNode(
  convNode: GraphNode,
  poolNode: GraphNode,
  sign: { scale: number[]; shift: number[] } | undefined,
): GraphNode {
  const { activation, ...convAttrs } = convNode.attrs;
  return {
    op: 'ConvPoolSign',
    name: convNode.name,
    inputs: convNode.inputs,
    outputs: poolNode.outputs,
    attrs: {
      ...convAttrs,
      ...(activation === undefined ? {} : { conv_activation: activation }),
      ...prefixedPoolAttrs(poolNode),
      ...(sign ? { sign_scale: sign.scale, sign_shift: sign.shift } : {}),
    },
  };
}

function invalid(node: GraphNode, message: string): never {
  throw new RuntimeError('invalid-model', `ConvPoolSign node '${node.name}' ${message}`);
}

/** The node's Conv and MaxPool as nodes of their own, and its sign map (checked against O channels). */
function parts(
  node: GraphNode,
  o: number,
): { conv: GraphNode; pool: GraphNode; sign: SignAffine | undefined } {
  const convAttrs: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(node.attrs)) {
    if (k.startsWith(POOL_PREFIX)) continue;
    if (k === 'conv_activation') convAttrs.activation = v;
    else if (!(SIGN_KEYS as readonly string[]).includes(k)) convAttrs[k] = v;
  }
  const [scale, shift] = SIGN_KEYS.map((k) => attrNumbers(node, k));
  if (
    (scale || shift) &&
    (scale?.length !== o || shift?.length !== o || !scale.every((d) => d === -1 || d === 0 || d === 1))
  )
    invalid(
      node,
      `needs sign_scale and sign_shift together, one per output channel (${o}), the scales −1, 0 or +1; got ${scale?.length ?? 'no'} scales and ${shift?.length ?? 'no'} shifts.`,
    );
  const inputs = node.inputs.slice(0, 3);
  return {
    conv: { op: 'Conv', name: node.name, inputs, outputs: ['conv'], attrs: convAttrs },
    pool: fusedPool(node, 'conv'),
    sign: scale && shift ? { scale, shift } : undefined,
  };
}

/** Every check of the node against its inputs; its parts, and the conv's output. */
function resolve(node: GraphNode, inputs: readonly (ValueInfo | undefined)[], ctx: OpContext) {
  const x = need(node, inputs, 0);
  const w = need(node, inputs, 1);
  if (node.inputs.length > 3 || node.outputs.length !== 1)
    invalid(
      node,
      `takes X, W and an optional B and gives one output, got ${node.inputs.length} inputs and ${node.outputs.length} outputs.`,
    );
  if (x.shape.length !== 4 || w.shape.length !== 4 || attrNumber(node, 'group', 1) !== 1)
    invalid(
      node,
      `runs a one-group 2-D conv: it needs X [N, C, H, W] and W [O, C, kh, kw], got [${x.shape.join(', ')}] and [${w.shape.join(', ')}] with group ${attrNumber(node, 'group', 1)}.`,
    );
  const p = parts(node, w.shape[0]!);
  const [y] = conv.infer(p.conv, inputs, ctx);
  return { ...p, y: y! };
}

function run(node: GraphNode, inputs: readonly (Tensor | undefined)[], ctx: OpContext): Tensor[] {
  const {
    conv: c,
    pool,
    sign,
  } = resolve(
    node,
    inputs.map((t) => t && { shape: t.shape, dtype: t.dtype }),
    ctx,
  );
  const [p] = maxPool.run(pool, conv.run(c, inputs, ctx), ctx);
  const [, o, h, w] = p!.shape as [number, number, number, number];
  const d = sign?.scale ?? [];
  const e = sign?.shift ?? [];
  // d ∈ {−1, 0, +1}: d·v + e rounds once, and rounding keeps the sign, so the sign is the f32 one
  return [
    float32(
      p!.shape,
      Float32Array.from(p!.data as Float32Array, (v, i) => {
        const ch = Math.floor(i / (h * w)) % o;
        return signCode(sign ? d[ch]! * v + e[ch]! : v);
      }),
    ),
  ];
}

const SIGN: PackedEncoding = { mode: 'sign' };

export const convPoolSign: OpDef = {
  op: 'ConvPoolSign',
  infer(node, inputs, ctx) {
    const { pool, y } = resolve(node, inputs, ctx);
    return maxPool.infer(pool, [y], ctx);
  },
  run,
  gpu: {
    plan(node, inputs, ctx) {
      const w = ctx.constant(node.inputs[1]!);
      if (
        inputs[0]?.dtype !== 'float32' ||
        w?.dtype !== 'float32' ||
        (node.inputs[2] && ctx.constant(node.inputs[2])?.dtype !== 'float32')
      )
        return undefined;
      resolve(node, inputs, ctx);
      return { kernel: 'conv-pool-sign', outputBits: SIGN };
    },
    encode(node, ctx) {
      const { layer, convGeometry, poolGeometry } = ctx.planned(() => {
        const w = ctx.constant(node.inputs[1]!)!;
        const b = node.inputs[2] ? ctx.constant(node.inputs[2]) : undefined;
        const { conv: c, pool, sign, y } = resolve(node, ctx.inputs, ctx);
        const x = ctx.inputs[0]!.shape;
        const layer = ctx.cached(
          'layer',
          () =>
            new ConvPoolSignLayer(
              ctx.gpu,
              asFloat32(w, 'ConvPoolSign weights'),
              w.shape as [number, number, number, number],
              b && asFloat32(b, 'ConvPoolSign bias'),
              sign,
              fusedActivation(c),
            ),
        );
        return {
          layer,
          convGeometry: geometry(c, x, w.shape).geo,
          poolGeometry: bitPoolWindow(pool, y.shape as [number, number, number, number]),
        };
      });
      return [layer.encode(ctx.r, ctx.input(0), convGeometry, poolGeometry)];
    },
  },
};
