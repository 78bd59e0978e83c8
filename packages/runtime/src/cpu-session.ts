import { RuntimeError } from './errors.js';
import type { Graph } from './graph.js';
import { opDef } from './ops/registry.js';
import { sizeOf, type Tensor } from './tensor.js';

/** Index of the first NaN or ±Infinity, or -1. A plain loop: several times faster than findIndex on large inputs. */
function firstNonFinite(d: Float32Array): number {
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}

/** The error for an input whose element `at` is NaN or ±Infinity. */
export function nonFiniteInput(name: string, t: Tensor, at: number): RuntimeError {
  return new RuntimeError(
    'invalid-input',
    `input '${name}' holds ${t.data[at]} at element ${at}; inputs must be finite numbers.`,
  );
}

/** Throws when the float input `name` holds a NaN or ±Infinity. */
export function checkFinite(name: string, t: Tensor): void {
  if (t.dtype !== 'float32') return;
  const bad = firstNonFinite(t.data as Float32Array);
  if (bad >= 0) throw nonFiniteInput(name, t, bad);
}

/**
 * Checks the caller's inputs against the graph: names, dtype, known dimensions, and finite values
 * except in the inputs `scanned` names (an executor that checks those itself, as the WebGPU one does).
 */
export function checkInputs(
  g: Graph,
  inputs: Readonly<Record<string, Tensor>>,
  scanned: (name: string) => boolean = () => false,
): void {
  for (const gi of g.inputs) {
    const t = inputs[gi.name];
    if (!t)
      throw new RuntimeError(
        'invalid-input',
        `input '${gi.name}' is missing; the model takes ${g.inputs.map((i) => `'${i.name}' [${i.shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]`).join(', ')}.`,
      );
    if (
      gi.shape.length > 0 &&
      (t.shape.length !== gi.shape.length || gi.shape.some((d, i) => d > 0 && d !== t.shape[i]))
    ) {
      throw new RuntimeError(
        'invalid-input',
        `input '${gi.name}' has shape [${t.shape.join(', ')}] but the model expects [${gi.shape.map((d) => (d < 0 ? '?' : d)).join(', ')}].`,
      );
    }
    if (t.dtype === 'float32' && !(t.data instanceof Float32Array))
      throw new RuntimeError(
        'invalid-input',
        `input '${gi.name}' is float32 but holds its values in ${Object.prototype.toString.call(t.data).slice(8, -1)}; pass them as a Float32Array.`,
      );
    if (t.data.length !== sizeOf(t.shape))
      throw new RuntimeError(
        'invalid-input',
        `input '${gi.name}' holds ${t.data.length} values where its shape [${t.shape.join(', ')}] needs ${sizeOf(t.shape)}${t.data.length === 0 ? ' (an upload tensor is empty once a run has sent it: take a new one for each run)' : ''}; give it one value per element.`,
      );
    if (!scanned(gi.name)) checkFinite(gi.name, t);
  }
  for (const name of Object.keys(inputs)) {
    if (!g.inputs.some((i) => i.name === name))
      throw new RuntimeError(
        'invalid-input',
        `the model has no input named '${name}'; its inputs are ${g.inputs.map((i) => `'${i.name}'`).join(', ')}.`,
      );
  }
}

/** Runs the graph on the CPU node by node, freeing each value after its last reader. */
export function runCpu(g: Graph, inputs: Readonly<Record<string, Tensor>>): Record<string, Tensor> {
  checkInputs(g, inputs);
  const values = new Map<string, Tensor>([...g.initializers, ...Object.entries(inputs)]);
  const lastUse = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    for (const v of n.inputs) lastUse.set(v, i);
  });
  g.nodes.forEach((n, i) => {
    const results = opDef(n.op).run(
      n,
      n.inputs.map((v) => (v === '' ? undefined : values.get(v))),
      g,
    );
    n.outputs.forEach((o, k) => {
      if (results[k]) values.set(o, results[k]);
    });
    for (const v of n.inputs)
      if (lastUse.get(v) === i && !g.initializers.has(v) && !g.outputs.includes(v)) values.delete(v);
  });
  return Object.fromEntries(g.outputs.map((o) => [o, values.get(o)!]));
}
