import { strides } from '@zeroskip/gpu';
import { RuntimeError } from '../errors.js';
import { attrString, type GraphNode } from '../graph.js';
import { type Tensor, tensor } from '../tensor.js';
import type { OpDef, ValueInfo } from './types.js';

/**
 * An Einsum as loops over labels: the output's labels first, then the summed ones, each with its
 * size, and per input the element stride each label advances it by (0 where the input lacks the
 * label or broadcasts it; a label repeated in one term adds its axes' strides, walking a diagonal).
 */
interface EinsumPlan {
  readonly sizes: number[];
  readonly shape: number[];
  readonly strides: number[][];
}

/** Labels in ONNX Runtime's alphabetical order: a–z, then A–Z. */
const letterRank = (c: string) => (c >= 'a' ? c.charCodeAt(0) - 97 : 26 + c.charCodeAt(0) - 65);

function einsumPlan(node: GraphNode, inputs: readonly (Tensor | ValueInfo | undefined)[]): EinsumPlan {
  const fail = (why: string): never => {
    throw new RuntimeError(
      'invalid-model',
      `Einsum '${node.name}' has equation '${attrString(node, 'equation', '')}', which ${why}.`,
    );
  };
  const equation = attrString(node, 'equation', '').replace(/\s/g, '');
  const [lhs = '', rhs, ...extra] = equation.split('->');
  const terms = lhs.split(',');
  if (extra.length > 0) fail("has more than one '->'");
  if (terms.length !== inputs.length) fail(`has ${terms.length} terms for ${inputs.length} inputs`);
  const parse = (term: string) => {
    const m = /^([a-zA-Z]*)(\.\.\.)?([a-zA-Z]*)$/.exec(term);
    if (!m) return fail(`has a term '${term}' that is not letters around at most one '...'`);
    return { before: [...(m[1] ?? '')], ellipsis: m[2] !== undefined, after: [...(m[3] ?? '')] };
  };
  const parsed = terms.map(parse);
  const shapes = inputs.map((t, i) => {
    if (!t) return fail(`names input ${i}, which is absent`);
    return t.shape;
  });
  // each input's labels per axis; ellipsis axes are labelled '.k', right-aligned across inputs
  const ellipsisRanks = parsed.map((p, i) => {
    const rest = shapes[i]!.length - p.before.length - p.after.length;
    if (rest < 0 || (!p.ellipsis && rest !== 0))
      fail(`gives term '${terms[i]}' to input ${i} of rank ${shapes[i]!.length}`);
    return rest;
  });
  const ellipsisRank = Math.max(0, ...ellipsisRanks);
  const dots = (n: number) => Array.from({ length: n }, (_, j) => `.${ellipsisRank - n + j}`);
  const axisLabels = parsed.map((p, i) => [...p.before, ...dots(ellipsisRanks[i]!), ...p.after]);
  const size = new Map<string, number>();
  for (const [i, labels] of axisLabels.entries())
    for (const [a, l] of labels.entries()) {
      const d = shapes[i]![a]!;
      const seen = size.get(l);
      // only ellipsis axes broadcast
      if (seen === undefined || (l.startsWith('.') && seen === 1)) size.set(l, d);
      else if (d !== seen && !(l.startsWith('.') && d === 1))
        fail(`gives label '${l.startsWith('.') ? '...' : l}' sizes ${seen} and ${d}`);
    }
  let output: string[];
  if (rhs === undefined) {
    const count = new Map<string, number>();
    for (const labels of axisLabels) for (const l of labels) count.set(l, (count.get(l) ?? 0) + 1);
    const once = [...count].filter(([l, n]) => n === 1 && !l.startsWith('.')).map(([l]) => l);
    output = [...dots(ellipsisRank), ...once.sort((a, b) => letterRank(a) - letterRank(b))];
  } else {
    const p = parse(rhs);
    // as in ONNX Runtime, which does not sum over broadcast axes
    if (parsed.some((q) => q.ellipsis) && !p.ellipsis) fail("has '...' in its inputs but not in its output");
    output = [...p.before, ...dots(ellipsisRank), ...p.after];
    if (new Set(output).size !== output.length || output.some((l) => !size.has(l)))
      fail('has an output label that repeats or that no input has');
  }
  const labels = [...output, ...[...size.keys()].filter((l) => !output.includes(l))];
  const sizes = labels.map((l) => size.get(l)!);
  return {
    sizes,
    shape: sizes.slice(0, output.length),
    strides: axisLabels.map((axes, i) => {
      const s = strides(shapes[i]!);
      return labels.map((l) =>
        axes.reduce((sum, m, a) => sum + (m === l && shapes[i]![a]! === size.get(l) ? s[a]! : 0), 0),
      );
    }),
  };
}

function dtypeOf(node: GraphNode, inputs: readonly (Tensor | ValueInfo | undefined)[]) {
  const dtype = inputs[0]?.dtype;
  if ((dtype !== 'float32' && dtype !== 'int64') || inputs.some((t) => t?.dtype !== dtype))
    throw new RuntimeError(
      'unsupported-op',
      `Einsum '${node.name}' takes ${inputs.map((t) => t?.dtype).join(', ')} operands; only float32 or int64 ones, all of one type, are supported.`,
    );
  return dtype;
}

/**
 * Einsum, explicit (->) or implicit output, with '...' broadcasting and repeated labels (diagonals
 * and traces): every product of the operands summed over the labels the output lacks.
 */
export const einsum: OpDef = {
  op: 'Einsum',
  infer(node, inputs) {
    const dtype = dtypeOf(node, inputs);
    return [{ shape: einsumPlan(node, inputs).shape, dtype }];
  },
  run(node, inputs) {
    const dtype = dtypeOf(node, inputs);
    const { sizes, shape, strides: st } = einsumPlan(node, inputs);
    const data = inputs.map((t) => t!.data);
    const total = shape.reduce((a, b) => a * b, 1);
    const summed = sizes.slice(shape.length).reduce((a, b) => a * b, 1);
    const acc = new Float64Array(total);
    const index = sizes.map(() => 0);
    const offset = data.map(() => 0);
    for (let f = 0; f < total * summed; f++) {
      let product = 1;
      for (let k = 0; k < data.length; k++) product *= data[k]![offset[k]!]!;
      acc[Math.floor(f / summed)]! += product;
      // the next label combination, the last label fastest
      for (let d = sizes.length - 1; d >= 0; d--) {
        index[d]!++;
        for (let k = 0; k < data.length; k++) offset[k]! += st[k]![d]!;
        if (index[d]! < sizes[d]!) break;
        for (let k = 0; k < data.length; k++) offset[k]! -= st[k]![d]! * sizes[d]!;
        index[d] = 0;
      }
    }
    return [tensor(dtype, shape, dtype === 'int64' ? acc : Float32Array.from(acc))];
  },
};
