import type { Graph } from './graph.js';
import { opDef } from './ops/registry.js';
import type { ValueInfo } from './ops/types.js';

export type { ValueInfo } from './ops/types.js';

/**
 * Static shape inference: the shape and dtype of every value of the graph for the given input shapes
 * (default: the graph's, with unknown dimensions as 1). Nodes whose inputs are all known (constants,
 * shapes and the arithmetic on them) are evaluated, so their values are known too.
 */
export function inferShapes(
  g: Graph,
  inputShapes: Readonly<Record<string, readonly number[]>> = {},
): Map<string, ValueInfo> {
  const info = new Map<string, ValueInfo>();
  for (const [name, t] of g.initializers) info.set(name, { shape: t.shape, dtype: t.dtype, value: t });
  for (const i of g.inputs)
    info.set(i.name, { shape: inputShapes[i.name] ?? i.shape.map((d) => (d < 0 ? 1 : d)), dtype: i.dtype });
  for (const n of g.nodes) {
    const def = opDef(n.op);
    const ins = n.inputs.map((v) => (v === '' ? undefined : info.get(v)));
    const known = ins.every((v) => !v || v.value);
    const outs: ValueInfo[] = known
      ? def
          .run(
            n,
            ins.map((v) => v?.value),
            g,
          )
          .map((t) => ({ shape: t.shape, dtype: t.dtype, value: t }))
      : def.infer(n, ins, g);
    n.outputs.forEach((o, k) => {
      const v = outs[k];
      if (o !== '' && v) info.set(o, v);
    });
  }
  return info;
}
