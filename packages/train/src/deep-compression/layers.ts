import type { tf } from '../engine.js';
import { TrainError } from '../errors.js';

/** Deep Compression treats convolutions and fully connected layers differently (rates, bits). */
export type LayerKind = 'conv' | 'fc';

/** One weight tensor to compress; `name` labels it in settings and results. */
export interface CompressibleLayer {
  readonly name: string;
  readonly variable: tf.Variable;
  readonly kind: LayerKind;
}

/**
 * One value for every layer, or a record looked up by layer name and then by kind, so that a
 * per-layer table can override a per-kind default: `{ conv: 0.6, fc: 0.9, fc3: 0.75 }`.
 */
export type LayerSetting<T> = T | Readonly<Record<string, T>>;

/**
 * Transforms the gradients between `tf.variableGrads` and `Optimizer.applyGradients`, so keyed as
 * both key them: by variable name. Gradients of variables it does not know pass through; the tensors
 * it returns for the others are new, and the caller disposes both maps (e.g. inside `tf.tidy`).
 */
export type GradientHook = (gradients: tf.NamedTensorMap) => tf.NamedTensorMap;

/** Runs after the optimizer step, to put back what the step may have changed. */
export type WeightHook = () => void;

/** Resolves `setting` for `layer`; `isValue` tells a single value from a record. */
export function settingFor<T>(
  setting: LayerSetting<T>,
  layer: CompressibleLayer,
  isValue: (s: LayerSetting<T>) => s is T,
  what: string,
): T {
  if (isValue(setting)) return setting;
  const byName = Object.hasOwn(setting, layer.name) ? setting[layer.name] : undefined;
  const value = byName ?? (Object.hasOwn(setting, layer.kind) ? setting[layer.kind] : undefined);
  if (value === undefined)
    throw new TrainError(
      'invalid-argument',
      `no ${what} for layer '${layer.name}'; give one under its name or under '${layer.kind}'.`,
    );
  return value;
}

export const isNumber = (s: LayerSetting<number>): s is number => typeof s === 'number';

/** Names must be unique (they key gradients and results) and weights float32 (they are clustered). */
export function checkLayers(layers: readonly CompressibleLayer[]): void {
  if (layers.length === 0)
    throw new TrainError('invalid-argument', 'no layers to compress; pass at least one weight variable.');
  const seen = new Set<string>();
  for (const l of layers) {
    if (seen.has(l.name))
      throw new TrainError(
        'invalid-argument',
        `layer name '${l.name}' appears twice; give each layer its own.`,
      );
    seen.add(l.name);
    if (l.variable.dtype !== 'float32')
      throw new TrainError(
        'invalid-argument',
        `layer '${l.name}' is ${l.variable.dtype}; only float32 weights can be pruned and shared.`,
      );
  }
}

/** The gradient of `layer` in `gradients`, refusing a missing or misshapen one rather than skipping it. */
export function gradientOf(gradients: tf.NamedTensorMap, layer: CompressibleLayer) {
  const g = gradients[layer.variable.name];
  if (!g)
    throw new TrainError(
      'invalid-argument',
      `no gradient for layer '${layer.name}' (variable '${layer.variable.name}'); key gradients by variable name, as tf.variableGrads does.`,
    );
  if (g.shape.join() !== layer.variable.shape.join())
    throw new TrainError(
      'shape-mismatch',
      `the gradient of layer '${layer.name}' has shape [${g.shape}], its weights [${layer.variable.shape}].`,
    );
  return g;
}
