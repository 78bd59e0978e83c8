import { checkInt, checkRange, QuantError } from './errors.js';

/** Target sparsity as a pure function of the training step. */
export type SparsitySchedule = (step: number) => number;

/** Prune once to `target` at `atStep`. */
export function oneShotSchedule(target: number, atStep = 0): SparsitySchedule {
  checkRange('target sparsity', target, 0, 1);
  return (step) => (step >= atStep ? target : 0);
}

/**
 * Han et al.'s iterative pruning: stage s (lasting `stepsPerStage` steps of retraining) prunes to
 * `targets[s]`; the last target holds afterwards. Targets must not decrease.
 */
export function iterativeSchedule(targets: readonly number[], stepsPerStage: number): SparsitySchedule {
  checkInt('stepsPerStage', stepsPerStage, 1, Number.MAX_SAFE_INTEGER);
  if (targets.length === 0)
    throw new QuantError('invalid-argument', 'an iterative schedule needs at least one target sparsity.');
  targets.forEach((t, i) => {
    checkRange('target sparsity', t, 0, 1);
    if (i > 0 && t < targets[i - 1]!)
      throw new QuantError(
        'invalid-argument',
        `target ${i} (${t}) is below the one before it; sparsity must not decrease.`,
      );
  });
  return (step) => targets[Math.min(targets.length - 1, Math.max(0, Math.floor(step / stepsPerStage)))]!;
}

export interface AgpOptions {
  readonly initial: number;
  readonly final: number;
  /** t0: the first pruning step. */
  readonly start: number;
  /** n: how many pruning steps. */
  readonly steps: number;
  /** Δt: training steps between pruning steps. */
  readonly frequency: number;
}

/**
 * Zhu & Gupta's automated gradual pruning: s_t = s_f + (s_i − s_f)(1 − (t − t0)/(nΔt))³ for
 * t ∈ {t0, t0+Δt, …, t0+nΔt}; constant between pruning steps, s_i before t0, s_f after.
 */
export function agpSchedule({ initial, final, start, steps, frequency }: AgpOptions): SparsitySchedule {
  checkRange('initial sparsity', initial, 0, 1);
  checkRange('final sparsity', final, 0, 1);
  checkInt('start', start, 0, Number.MAX_SAFE_INTEGER);
  checkInt('steps', steps, 1, Number.MAX_SAFE_INTEGER);
  checkInt('frequency', frequency, 1, Number.MAX_SAFE_INTEGER);
  return (step) => {
    if (step < start) return initial;
    const t = Math.min(steps * frequency, Math.floor((step - start) / frequency) * frequency);
    return final + (initial - final) * (1 - t / (steps * frequency)) ** 3;
  };
}
