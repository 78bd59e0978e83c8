import { RuntimeError } from './errors.js';
import type { Graph } from './graph.js';
import { isSupportedOp, SUPPORTED_OPS } from './ops/registry.js';
import { unsupportedOpsError } from './unsupported.js';

// Apart from graph.ts, which the op modules import: the check needs the registry of ops.

/** Checks that every op is supported and every value is defined before it is read (topological order). */
export function validateGraph(g: Pick<Graph, 'nodes' | 'initializers' | 'inputs' | 'outputs'>): void {
  const known = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name), '']);
  const unsupported = unsupportedOpsError(g.nodes, isSupportedOp, SUPPORTED_OPS);
  if (unsupported) throw unsupported;
  for (const n of g.nodes) {
    for (const input of n.inputs) {
      if (!known.has(input))
        throw new RuntimeError(
          'invalid-model',
          `node '${n.name}' reads '${input}', which no earlier node, input or initializer defines (the graph must be topologically sorted).`,
        );
    }
    for (const output of n.outputs) known.add(output);
  }
  for (const o of g.outputs)
    if (!known.has(o)) throw new RuntimeError('invalid-model', `graph output '${o}' is never computed.`);
}
