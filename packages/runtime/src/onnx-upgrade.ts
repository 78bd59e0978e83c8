import { RuntimeError } from './errors.js';
import { type AttributeValue, freshNames, type Graph, type GraphNode } from './graph.js';
import { float32, int64, type Tensor } from './tensor.js';

/*
 * Rewrites the node forms of older opsets (7 and up) into the newest forms, so that each op's
 * implementation reads one form only. The graph keeps its opset number: semantics that changed
 * without a change of form (Softmax, LogSoftmax and Hardmax flattening before opset 13) are still
 * decided by the opset, so those nodes are left as they are.
 *
 * Attributes that became inputs become inputs, reading constants added under fresh names:
 *   Clip < 11 (min, max) · Pad < 11 (pads, value) · Slice < 10 (starts, ends, axes)
 *   Split < 13 (split) · Squeeze, Unsqueeze < 13 (axes) · ReduceSum < 13 (axes)
 *   ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp,
 *   ReduceSumSquare < 18 (axes) · TopK < 10 (k)
 * Split < 18 without sizes gets num_outputs, which Split-18 needs when no sizes are given.
 * Upsample (7–10) and Resize-10 become Resize [X, '', scales] with the coordinates they meant:
 *   asymmetric, and for nearest the rounding ONNX Runtime applies there (floor when enlarging, ceil
 *   when shrinking), so their scales must be known constants.
 * Resize from 11: empty constant roi/scales/sizes (exporters' placeholders) become absent inputs.
 * Scatter (9–10) becomes ScatterElements, its name from opset 11 on.
 * ImageScaler (an experimental op of opsets 1–9) becomes Mul by its scale and Add of its bias.
 * Attributes with no effect at inference are dropped: Dropout < 12 ratio, MaxPool storage_order,
 * BatchNormalization < 9 spatial (spatial=0 is refused: per-element statistics are not supported).
 * BatchNormalization gets training_mode = 1 where it has outputs beyond Y, and loses it otherwise.
 * MaxPool's second (Indices) output is refused in any opset.
 */

/** What a rewrite may consult and add. */
interface UpgradeContext {
  readonly opset: number;
  /** The contents of a value held by an initializer or a Constant node. */
  known(name: string): Tensor | undefined;
  /** Adds a constant under a fresh name built from `hint`, and returns that name. */
  constant(hint: string, t: Tensor): string;
  /** A fresh value name built from `hint`. */
  fresh(hint: string): string;
}

type Rewrite = (n: GraphNode, cx: UpgradeContext) => GraphNode | GraphNode[];
type NodeRewrite = (n: GraphNode, cx: UpgradeContext) => GraphNode;

const isTensor = (v: AttributeValue | undefined): v is Tensor =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function without(attrs: GraphNode['attrs'], ...keys: string[]): GraphNode['attrs'] {
  return Object.fromEntries(Object.entries(attrs).filter(([k]) => !keys.includes(k)));
}

/** Inputs with trailing absent ('') entries removed. */
function trimmed(inputs: readonly string[]): string[] {
  const out = [...inputs];
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

const scalar = (v: AttributeValue) => float32([], Float32Array.of(v as number));
const ints = (v: AttributeValue) => int64([(v as number[]).length], v as number[]);

/**
 * Before opset `until`, moves attributes to the inputs that follow the node's first input, in
 * order; an absent attribute becomes an absent input.
 */
function attrsToInputs(
  until: number,
  moved: readonly (readonly [attr: string, make: (v: AttributeValue) => Tensor])[],
): NodeRewrite {
  return (n, cx) => {
    if (cx.opset >= until) return n;
    const extra = moved.map(([attr, make]) => {
      const v = n.attrs[attr];
      return v === undefined ? '' : cx.constant(`${n.name}_${attr}`, make(v));
    });
    return {
      ...n,
      inputs: trimmed([n.inputs[0] ?? '', ...extra]),
      attrs: without(n.attrs, ...moved.map(([attr]) => attr)),
    };
  };
}

const axesToInput = (until: number) => attrsToInputs(until, [['axes', ints]]);
const splitToInput = attrsToInputs(13, [['split', ints]]);

function refuse(n: GraphNode, why: string): never {
  throw new RuntimeError('unsupported-op', `node '${n.name}' (${n.op}) ${why}`);
}

/**
 * Upsample-7 (scales attribute), Upsample-9/10 and Resize-10 ([X, scales]) as Resize. ONNX Runtime
 * maps the source coordinate asymmetrically (x / scale) and rounds it down when enlarging an axis,
 * up when shrinking one; one nearest_mode must hold for every axis.
 */
function resizeFromUpsample(n: GraphNode, cx: UpgradeContext): GraphNode {
  const attrScales = n.attrs.scales;
  const scalesName = Array.isArray(attrScales)
    ? cx.constant(`${n.name}_scales`, float32([attrScales.length], Float32Array.from(attrScales as number[])))
    : (n.inputs[1] ?? '');
  const mode = typeof n.attrs.mode === 'string' ? n.attrs.mode : 'nearest';
  if (mode !== 'nearest' && mode !== 'linear')
    refuse(n, `uses mode '${mode}'; this runtime reads nearest and linear.`);
  const attrs: GraphNode['attrs'] = { mode, coordinate_transformation_mode: 'asymmetric' };
  if (mode === 'nearest') {
    const scales = cx.known(scalesName);
    if (!scales)
      refuse(
        n,
        'computes its scales while running; nearest resizing of this opset rounds by whether each axis grows, so the scales must be constant (fold them, or convert the model to opset 11 or later).',
      );
    const grows = Array.from(scales.data, (s) => s >= 1);
    const shrinks = Array.from(scales.data, (s) => s <= 1);
    if (!grows.every(Boolean) && !shrinks.every(Boolean))
      refuse(
        n,
        `enlarges some axes and shrinks others (scales [${Array.from(scales.data).join(', ')}]), which rounds each axis differently; convert the model to opset 11 or later.`,
      );
    attrs.nearest_mode = grows.every(Boolean) ? 'floor' : 'ceil';
  }
  return { ...n, op: 'Resize', inputs: [n.inputs[0] ?? '', '', scalesName], attrs };
}

const REWRITES: ReadonlyMap<string, Rewrite> = new Map(
  Object.entries({
    Clip: attrsToInputs(11, [
      ['min', scalar],
      ['max', scalar],
    ]),
    Pad: attrsToInputs(11, [
      ['pads', ints],
      ['value', scalar],
    ]),
    Slice: attrsToInputs(10, [
      ['starts', ints],
      ['ends', ints],
      ['axes', ints],
    ]),
    Split: (n, cx) => {
      const up = splitToInput(n, cx);
      return cx.opset < 18 && !up.inputs[1]
        ? { ...up, attrs: { ...up.attrs, num_outputs: up.outputs.length } }
        : up;
    },
    Squeeze: axesToInput(13),
    Unsqueeze: axesToInput(13),
    ReduceSum: axesToInput(13),
    ...Object.fromEntries(
      ['Mean', 'Max', 'Min', 'Prod', 'L1', 'L2', 'LogSum', 'LogSumExp', 'SumSquare'].map((r) => [
        `Reduce${r}`,
        axesToInput(18),
      ]),
    ),
    TopK: attrsToInputs(10, [['k', (v) => int64([1], [v as number])]]),
    Scatter: (n) => ({ ...n, op: 'ScatterElements' }),
    Upsample: resizeFromUpsample,
    Resize: (n, cx) => {
      if (cx.opset < 11) return resizeFromUpsample(n, cx);
      const inputs = n.inputs.map((v, i) => (i > 0 && cx.known(v)?.data.length === 0 ? '' : v));
      return { ...n, inputs: trimmed(inputs) };
    },
    ImageScaler: (n, cx) => {
      const scale = cx.constant(`${n.name}_scale`, scalar(n.attrs.scale ?? 1));
      const mul = {
        op: 'Mul',
        name: n.name,
        inputs: [n.inputs[0] ?? '', scale],
        outputs: n.outputs,
        attrs: {},
      };
      const bias = n.attrs.bias as number[] | undefined;
      if (!bias) return mul;
      const scaled = cx.fresh(`${n.name}_scaled`);
      const shift = cx.constant(`${n.name}_bias`, float32([1, bias.length, 1, 1], Float32Array.from(bias)));
      return [
        { ...mul, name: `${n.name}_mul`, outputs: [scaled] },
        { op: 'Add', name: n.name, inputs: [scaled, shift], outputs: n.outputs, attrs: {} },
      ];
    },
    BatchNormalization: (n, cx) => {
      if (cx.opset < 9 && n.attrs.spatial === 0)
        refuse(
          n,
          'has spatial=0 (statistics per element rather than per channel), which this runtime does not support; re-export it with per-channel statistics.',
        );
      // ONNX Runtime normalizes by the batch's own statistics exactly when a node has outputs beyond Y
      // (the running and saved statistics), in every opset, whatever training_mode says
      const attrs = without(n.attrs, 'spatial', 'training_mode');
      return { ...n, attrs: n.outputs.slice(1).some((o) => o) ? { ...attrs, training_mode: 1 } : attrs };
    },
    Dropout: (n, cx) => (cx.opset >= 12 ? n : { ...n, attrs: without(n.attrs, 'ratio') }),
    MaxPool: (n) => {
      if (n.outputs[1]) refuse(n, 'returns Indices as a second output, which this runtime does not compute.');
      return { ...n, outputs: n.outputs.slice(0, 1), attrs: without(n.attrs, 'storage_order') };
    },
  } satisfies Record<string, Rewrite>),
);

/** The graph's nodes in the newest forms, with the constants the rewrites read added to its initializers. */
export function upgradeNodes(
  g: Pick<Graph, 'nodes' | 'initializers' | 'inputs' | 'opset'>,
): Pick<Graph, 'nodes' | 'initializers'> {
  const initializers = new Map(g.initializers);
  const constants = new Map<string, Tensor>();
  for (const n of g.nodes)
    if (n.op === 'Constant' && isTensor(n.attrs.value) && n.outputs[0])
      constants.set(n.outputs[0], n.attrs.value);
  const fresh = freshNames(g);
  const cx: UpgradeContext = {
    opset: g.opset,
    known: (name) => initializers.get(name) ?? constants.get(name),
    constant: (hint, t) => {
      const name = fresh(hint);
      initializers.set(name, t);
      return name;
    },
    fresh,
  };
  const nodes = g.nodes.flatMap((n) => REWRITES.get(n.op)?.(n, cx) ?? n);
  return { nodes, initializers };
}
