import { tf } from './engine.js';
import { TrainError } from './errors.js';
import type { Model } from './models.js';

/** Every variable of the model (weights and batch-norm statistics) as plain arrays, by stable key. */
export async function saveWeights(model: Model): Promise<Record<string, Float32Array>> {
  // read asynchronously: WebGPU backends cannot read synchronously everywhere
  const entries = await Promise.all(
    [...model.namedVariables()].map(
      async ([k, v]) => [k, Float32Array.from((await v.data()) as Float32Array)] as const,
    ),
  );
  return Object.fromEntries(entries);
}

/** Restores what `saveWeights` returned for a model of the same architecture. */
export function loadWeights(model: Model, record: Readonly<Record<string, Float32Array>>): void {
  const vars = model.namedVariables();
  const missing = [...vars.keys()].filter((k) => !(k in record));
  const extra = Object.keys(record).filter((k) => !vars.has(k));
  if (missing.length > 0 || extra.length > 0)
    throw new TrainError(
      'shape-mismatch',
      `the weights do not fit model '${model.name}' (missing: ${missing.join(', ') || 'none'}; unknown: ${extra.join(', ') || 'none'}); save them from the same architecture.`,
    );
  for (const [k, v] of vars) {
    const data = record[k]!;
    if (data.length !== v.size)
      throw new TrainError(
        'shape-mismatch',
        `weight '${k}' has ${data.length} values but model '${model.name}' needs ${v.size} ([${v.shape.join(', ')}]).`,
      );
  }
  tf.tidy(() => {
    for (const [k, v] of vars) v.assign(tf.tensor(record[k]!, v.shape));
  });
}
