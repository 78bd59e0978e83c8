import { RuntimeError } from './errors.js';
import type { GraphNode } from './graph.js';

/** Node names listed per op before the rest are counted. */
const NAMES_SHOWN = 3;

/**
 * One error naming every unsupported op of a graph with the nodes that use it, or undefined when
 * every op is supported. Ops of other domains than ai.onnx arrive as 'domain.Op' names.
 */
export function unsupportedOpsError(
  nodes: readonly GraphNode[],
  isSupported: (op: string) => boolean,
  supported: readonly string[],
): RuntimeError | undefined {
  const byOp = new Map<string, string[]>();
  for (const n of nodes) {
    if (isSupported(n.op)) continue;
    const names = byOp.get(n.op) ?? [];
    names.push(n.name);
    byOp.set(n.op, names);
  }
  if (byOp.size === 0) return undefined;
  const listed = [...byOp].map(([op, names]) => {
    const shown = names.slice(0, NAMES_SHOWN).map((s) => `'${s}'`);
    const more = names.length > NAMES_SHOWN ? ` and ${names.length - NAMES_SHOWN} more` : '';
    return `${op} (${names.length === 1 ? 'node' : 'nodes'} ${shown.join(', ')}${more})`;
  });
  const count = [...byOp.values()].reduce((s, names) => s + names.length, 0);
  const custom = [...byOp.keys()].some((op) => op.includes('.'))
    ? ' Ops of a custom domain come from runtime-specific graph optimizations: export the model without them.'
    : '';
  return new RuntimeError(
    'unsupported-op',
    `${byOp.size === 1 ? '1 op' : `${byOp.size} ops`} used by ${count === 1 ? '1 node' : `${count} nodes`} ${byOp.size === 1 ? 'is' : 'are'} not supported: ${listed.join(', ')}; supported ops: ${supported.join(', ')}. Export the model without them, or replace them with supported ops.${custom}`,
  );
}
