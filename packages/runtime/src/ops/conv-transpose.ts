import {
  AUTO_PADS,
  type AutoPad,
  type ConvTransposeGeometry,
  convTransposeGeometry,
  convTransposeReference,
  encodeConvTranspose,
} from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrNumber, attrNumbers, attrString, type GraphNode } from '../graph.js';
import { asFloat32, float32, type Tensor } from '../tensor.js';
import type { OpDef, ValueInfo } from './types.js';
import { need } from './util.js';

/** A 1-D node's per-axis attribute as the 2-D one over a height of 1 (`unit` on that axis). */
function per2d(
  values: readonly number[] | undefined,
  unit: number,
  oneD: boolean,
): [number, number] | undefined {
  if (!values) return undefined;
  return (oneD ? [unit, values[0]] : values) as [number, number];
}

/** The node's geometry, a 1-D node viewed as 2-D with a height of 1 (the output size rules are the GPU package's). */
function geometryOf(
  node: GraphNode,
  inputs: readonly (Tensor | ValueInfo | undefined)[],
): { geo: ConvTransposeGeometry; oneD: boolean } {
  const x = need(node, inputs, 0).shape;
  const w = need(node, inputs, 1).shape;
  const oneD = x.length === 3;
  if ((x.length !== 4 && !oneD) || w.length !== x.length)
    throw new RuntimeError(
      'unsupported-op',
      `node '${node.name}' (ConvTranspose) has input [${x.join(', ')}] and weights [${w.join(', ')}]; only 1-D and 2-D transposed convolutions (rank-3 or rank-4 input and weights of the same rank) are supported.`,
    );
  const view = (s: readonly number[]) => (oneD ? [s[0]!, s[1]!, 1, s[2]!] : [...s]);
  const kernel = attrNumbers(node, 'kernel_shape');
  if (kernel && kernel.join() !== w.slice(2).join())
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (ConvTranspose) has kernel_shape [${kernel.join(', ')}] but weights [${w.join(', ')}]; the kernel shape must be the weights' spatial sizes.`,
    );
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (!(AUTO_PADS as readonly string[]).includes(autoPad))
    throw new RuntimeError(
      'invalid-model',
      `node '${node.name}' (ConvTranspose) has auto_pad '${autoPad}'; use one of ${AUTO_PADS.join(', ')}.`,
    );
  const pads = attrNumbers(node, 'pads');
  const strides = per2d(attrNumbers(node, 'strides'), 1, oneD);
  const dilations = per2d(attrNumbers(node, 'dilations'), 1, oneD);
  const outputPadding = per2d(attrNumbers(node, 'output_padding'), 0, oneD);
  // output_shape holds the spatial sizes (some exporters write the full shape: its tail is the same)
  const outputShape = per2d(attrNumbers(node, 'output_shape')?.slice(oneD ? -1 : -2), 1, oneD);
  const geo = convTransposeGeometry(view(x), view(w), {
    groups: attrNumber(node, 'group', 1),
    autoPad: autoPad as AutoPad,
    ...(strides && { strides }),
    ...(dilations && { dilations }),
    ...(outputPadding && { outputPadding }),
    ...(outputShape && { outputShape }),
    ...(pads && { pads: (oneD ? [0, pads[0], 0, pads[1]] : pads) as [number, number, number, number] }),
  });
  return { geo, oneD };
}

function outputShape({ geo, oneD }: { geo: ConvTransposeGeometry; oneD: boolean }): number[] {
  return oneD ? [geo.n, geo.o, geo.wo] : [geo.n, geo.o, geo.ho, geo.wo];
}

/** ConvTranspose 1-D and 2-D: groups, strides, dilations, pads, output_padding, output_shape, auto_pad, bias. */
export const convTranspose: OpDef = {
  op: 'ConvTranspose',
  infer(node, inputs) {
    return [{ shape: outputShape(geometryOf(node, inputs)), dtype: 'float32' }];
  },
  run(node, inputs) {
    const g = geometryOf(node, inputs);
    const what = `ConvTranspose '${node.name}'`;
    const bias = inputs[2] && asFloat32(inputs[2], `${what} bias`);
    if (bias && bias.length !== g.geo.o)
      throw new RuntimeError(
        'invalid-input',
        `node '${node.name}' (ConvTranspose) has ${bias.length} biases for ${g.geo.o} output channels; give one per output channel.`,
      );
    const x = asFloat32(need(node, inputs, 0), `${what} input`);
    const w = asFloat32(need(node, inputs, 1), `${what} weights`);
    return [float32(outputShape(g), convTransposeReference(g.geo, x, w, bias))];
  },
  gpu: {
    plan: (_node, inputs) =>
      inputs.every((v) => v === undefined || v.dtype === 'float32')
        ? { kernel: 'conv-transpose' }
        : undefined,
    encode(node, ctx, outputs) {
      const { geo } = geometryOf(node, ctx.inputs);
      const y = ctx.empty(outputs[0]!.shape);
      encodeConvTranspose(ctx.r, geo, {
        x: ctx.input(0),
        w: ctx.input(1),
        ...(ctx.inputs[2] && { bias: ctx.input(2) }),
        y,
      });
      return [y];
    },
  },
};
