import { seededRandom } from '@zeroskip/quant';
import { float32, type Graph, type Tensor } from '@zeroskip/runtime';

/** Seeded inputs in [0, 1) for every graph input, unknown dimensions as 1. */
export function sampleInputs(graph: Graph, seed = 7): Record<string, Tensor> {
  const random = seededRandom(seed);
  return Object.fromEntries(
    graph.inputs.map((i) => {
      const shape = i.shape.map((d) => (d < 0 ? 1 : d));
      const t = float32(shape);
      t.data.forEach((_, k) => {
        t.data[k] = random();
      });
      return [i.name, t];
    }),
  );
}

/** Largest absolute difference between two sets of outputs (Infinity when their names or sizes differ). */
export function maxDiff(a: Record<string, Tensor>, b: Record<string, Tensor>): number {
  let worst = 0;
  for (const [name, t] of Object.entries(a)) {
    const u = b[name];
    if (!u || u.data.length !== t.data.length) return Number.POSITIVE_INFINITY;
    t.data.forEach((v, k) => {
      worst = Math.max(worst, Math.abs(v - u.data[k]!));
    });
  }
  return worst;
}
