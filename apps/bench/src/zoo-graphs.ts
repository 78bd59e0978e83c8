import { type Graph, optimize, type Tensor, ZOO } from '@zeroskip/runtime';
import type { BenchContext } from './results.js';
import { gaussian } from './rng.js';

/** The networks a table runs: those asked for, else the papers' four (full suite) or LeNet-5. */
export function benchNetworks(ctx: BenchContext): readonly string[] {
  return (
    ctx.networks ?? (ctx.suite === 'full' ? ['alexnet', 'googlenet', 'resnet-50', 'vgg-16'] : ['lenet-5'])
  );
}

/** A zoo network with seeded weights, optimized as the runtime runs it. */
export function zooGraph(name: string, seed: number): Graph {
  return optimize(ZOO[name]!.build({ seed }));
}

/** `g` with its first input's batch set to `batch`. */
export function withBatch(g: Graph, batch: number): Graph {
  return { ...g, inputs: g.inputs.map((i) => ({ ...i, shape: [batch, ...i.shape.slice(1)] })) };
}

/** A seeded Gaussian input for a graph's first input. */
export function seededInput(g: Graph, seed: number): Tensor {
  const shape = g.inputs[0]!.shape;
  return {
    dtype: 'float32',
    shape,
    data: gaussian(
      shape.reduce((a, b) => a * b, 1),
      seed,
    ),
  };
}
