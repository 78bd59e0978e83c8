import {
  applyActivation,
  batchNormScaleShift,
  encodeChannelAffine,
  encodeInstanceNorm,
  encodeTranspose,
  reshape,
} from '@zeroskip/gpu';
import { attrNumber, type GraphNode } from '../graph.js';
import { asFloat32, float32, sizeOf } from '../tensor.js';
import { fusedActivation } from './conv.js';
import type { OpDef } from './types.js';
import { need } from './util.js';

const PARAMS = [1, 2, 3, 4] as const;

/**
 * Whether the node normalizes by its input's own batch statistics (training mode) rather than by its
 * mean and var inputs. The ONNX import sets `training_mode` where ONNX Runtime computes them: on a node
 * with outputs beyond Y, in every opset.
 */
export const usesBatchStatistics = (node: GraphNode): boolean => node.attrs.training_mode === 1;

/** Calls `f` for each run [start, end) of one channel's values in an [N, C, spatial] layout of `size` values. */
function forEachChannelRun(
  size: number,
  channels: number,
  spatial: number,
  f: (channel: number, start: number, end: number) => void,
): void {
  for (let start = 0, ch = 0; start < size; start += spatial, ch = (ch + 1) % channels)
    f(ch, start, start + spatial);
}

/**
 * Per-channel mean and biased variance over the batch and spatial axes of an [N, C, …] input,
 * accumulated in double precision.
 */
function batchStatistics(
  x: Float32Array,
  shape: readonly number[],
): { mean: Float64Array; variance: Float64Array } {
  const c = shape[1] ?? 1;
  const spatial = sizeOf(shape.slice(2));
  const count = x.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  forEachChannelRun(x.length, c, spatial, (ch, start, end) => {
    for (let e = start; e < end; e++) mean[ch]! += x[e]!;
  });
  for (let ch = 0; ch < c; ch++) mean[ch]! /= count;
  forEachChannelRun(x.length, c, spatial, (ch, start, end) => {
    for (let e = start; e < end; e++) variance[ch]! += (x[e]! - mean[ch]!) ** 2;
  });
  for (let ch = 0; ch < c; ch++) variance[ch]! /= count;
  return { mean, variance };
}

export const batchNormalization: OpDef = {
  op: 'BatchNormalization',
  // Y, then (training mode) the running mean and var, and before opset 14 the batch's saved statistics
  infer: (node, inputs) => {
    const x = need(node, inputs, 0);
    return node.outputs.map((_, i) => ({ shape: i === 0 ? x.shape : [x.shape[1] ?? 1], dtype: 'float32' }));
  },
  run(node, inputs) {
    const x = need(node, inputs, 0);
    const data = asFloat32(x, 'BatchNormalization input');
    const [g, b, m, v] = PARAMS.map((i) => asFloat32(need(node, inputs, i), 'BatchNormalization parameter'));
    const epsilon = attrNumber(node, 'epsilon', 1e-5);
    const batch = usesBatchStatistics(node) ? batchStatistics(data, x.shape) : undefined;
    const { scale, shift } = batch
      ? batchNormScaleShift(g!, b!, Float32Array.from(batch.mean), Float32Array.from(batch.variance), epsilon)
      : batchNormScaleShift(g!, b!, m!, v!, epsilon);
    const c = x.shape[1] ?? 1;
    const spatial = sizeOf(x.shape.slice(2));
    const act = fusedActivation(node);
    const out = new Float32Array(data.length);
    forEachChannelRun(data.length, c, spatial, (ch, start, end) => {
      for (let e = start; e < end; e++) out[e] = applyActivation(data[e]! * scale[ch]! + shift[ch]!, act);
    });
    const y = float32(x.shape, out);
    if (!batch) return [y];
    const momentum = attrNumber(node, 'momentum', 0.9);
    const running = (input: Float32Array, current: Float64Array) =>
      float32(
        [c],
        Float32Array.from(input, (r, ch) => r * momentum + current[ch]! * (1 - momentum)),
      );
    // before opset 14, ONNX Runtime writes 1/√(var + ε) where the spec names the saved variance
    const stats = [
      running(m!, batch.mean),
      running(v!, batch.variance),
      float32([c], Float32Array.from(batch.mean)),
      float32(
        [c],
        Float32Array.from(batch.variance, (s) => 1 / Math.sqrt(s + epsilon)),
      ),
    ];
    return [y, ...stats.slice(0, node.outputs.length - 1)];
  },
  gpu: {
    plan(node, inputs, ctx) {
      if (inputs[0]?.dtype !== 'float32') return undefined;
      // batch statistics: Y only, with no activation (optimize drops unread statistics outputs)
      if (usesBatchStatistics(node))
        return node.outputs.slice(1).every((o) => !o) && fusedActivation(node) === 'none'
          ? { kernel: 'batch-stats-norm' }
          : undefined;
      const constant = PARAMS.every((i) => ctx.constant(node.inputs[i] ?? '')?.dtype === 'float32');
      return constant ? { kernel: 'channel-affine' } : undefined;
    },
    encode(node, ctx) {
      const x = ctx.input(0);
      const channels = x.shape[1] ?? 1;
      const spatial = sizeOf(x.shape.slice(2));
      const y = ctx.empty(x.shape);
      if (usesBatchStatistics(node)) {
        // instance normalization of [1, C, N·spatial]: channels first, where the batch leads
        const [n] = x.shape as [number];
        const byChannel = n === 1 ? x : ctx.empty([channels, n, spatial]);
        if (n > 1) encodeTranspose(ctx.r, reshape(x, [n, channels, spatial]), byChannel, [1, 0, 2]);
        const normed = n === 1 ? y : ctx.empty([channels, n, spatial]);
        encodeInstanceNorm(
          ctx.r,
          reshape(byChannel, [1, channels, n * spatial]),
          ctx.input(1),
          ctx.input(2),
          reshape(normed, [1, channels, n * spatial]),
          attrNumber(node, 'epsilon', 1e-5),
        );
        if (n > 1) {
          encodeTranspose(ctx.r, normed, reshape(y, [n, channels, spatial]), [1, 0, 2]);
          ctx.gpu.release(byChannel);
          ctx.gpu.release(normed);
        }
        return [y];
      }
      const { scale, shift } = ctx.cached('scale-shift', () => {
        const [g, b, m, v] = PARAMS.map((i) => ctx.constant(node.inputs[i]!)!.data as Float32Array);
        const p = batchNormScaleShift(g!, b!, m!, v!, attrNumber(node, 'epsilon', 1e-5));
        const t = {
          scale: ctx.gpu.tensor([p.scale.length], p.scale),
          shift: ctx.gpu.tensor([p.shift.length], p.shift),
        };
        return {
          ...t,
          destroy: () => {
            ctx.gpu.release(t.scale);
            ctx.gpu.release(t.shift);
          },
        };
      });
      encodeChannelAffine(ctx.r, x, scale, shift, y, channels, spatial, fusedActivation(node));
      return [y];
    },
  },
};
