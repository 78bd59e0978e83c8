import { tf } from './engine.js';
import { TrainError } from './errors.js';

export type OptimizerName = 'adam' | 'sgd' | 'shift-adamax';

/** What the training loop needs of an optimizer: apply gradients by variable name, change the rate. */
export interface StepOptimizer {
  applyGradients(grads: tf.NamedTensorMap): void;
  setLearningRate(rate: number): void;
  dispose(): void;
}

/** AP2(x) = sign(x)·2^round(log2|x|): the power of two a shift multiplies by. */
function ap2(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.sign(x), tf.pow(2, tf.round(tf.div(tf.log(tf.abs(x)), Math.LN2))));
}

/**
 * BNN's shift-based AdaMax (Courbariaux et al., Algorithm 4): m ← β1·m + (1 − β1)·g,
 * v ← max(β2·v, |g|), θ ← θ − AP2(lr/(1 − β1^t))·m·AP2(1/v): multiplications become shifts.
 */
class ShiftAdaMax implements StepOptimizer {
  private readonly slots = new Map<string, { m: tf.Variable; v: tf.Variable }>();
  private t = 0;
  constructor(
    private rate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {}

  applyGradients(grads: tf.NamedTensorMap): void {
    this.t++;
    const variables = tf.engine().registeredVariables;
    tf.tidy(() => {
      const step = ap2(tf.scalar(this.rate / (1 - this.beta1 ** this.t)));
      for (const [name, g] of Object.entries(grads)) {
        const variable = variables[name]!;
        let slot = this.slots.get(name);
        if (!slot) {
          slot = { m: tf.variable(tf.zerosLike(g), false), v: tf.variable(tf.zerosLike(g), false) };
          this.slots.set(name, slot);
        }
        slot.m.assign(tf.add(tf.mul(slot.m, this.beta1), tf.mul(g, 1 - this.beta1)));
        slot.v.assign(tf.maximum(tf.mul(slot.v, this.beta2), tf.abs(g)));
        const update = tf.mul(tf.mul(step, slot.m), ap2(tf.div(1, tf.add(slot.v, this.epsilon))));
        variable.assign(tf.sub(variable, update));
      }
    });
  }

  setLearningRate(rate: number): void {
    this.rate = rate;
  }

  dispose(): void {
    for (const { m, v } of this.slots.values()) {
      m.dispose();
      v.dispose();
    }
  }
}

/** A TF.js optimizer behind the StepOptimizer interface. */
function wrap(opt: tf.Optimizer, setRate: (rate: number) => void): StepOptimizer {
  return {
    applyGradients: (grads) => opt.applyGradients(grads),
    setLearningRate: setRate,
    dispose: () => opt.dispose(),
  };
}

export function createOptimizer(name: OptimizerName, rate: number, momentum: number): StepOptimizer {
  switch (name) {
    case 'adam': {
      const opt = tf.train.adam(rate);
      // Adam reads its (protected) learningRate on every step and has no setter.
      return wrap(opt, (r) => {
        (opt as unknown as { learningRate: number }).learningRate = r;
      });
    }
    case 'sgd': {
      const opt = tf.train.momentum(rate, momentum);
      return wrap(opt, (r) => opt.setLearningRate(r));
    }
    case 'shift-adamax':
      return new ShiftAdaMax(rate);
    default:
      throw new TrainError(
        'invalid-argument',
        `unknown optimizer '${name as string}'; use adam, sgd or shift-adamax.`,
      );
  }
}
