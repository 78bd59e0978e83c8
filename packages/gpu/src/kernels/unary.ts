import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import { checkUnaryOp, type UnaryOp, type UnaryParams, unaryFn, unaryParams } from '../pointwise.js';
import type { Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { UniformStruct } from '../uniforms.js';
import { type Activation, bindings, checkActivation } from '../wgsl.js';
import { elementwiseWgsl, encodeElementwise } from './elementwise.js';

const PARAMS = new UniformStruct('UnaryParams', { total: 'u32', a: 'f32', b: 'f32' });

/** One pipeline per op; the size and the op's parameters are uniforms. */
const UNARY: Program<{ readonly op: UnaryOp }> = {
  name: 'unary',
  wgsl: ({ op }) =>
    elementwiseWgsl(
      `${bindings(
        [
          ['x', 'array<f32>', 'read'],
          ['y', 'array<f32>', 'read_write'],
        ],
        0,
        PARAMS,
      )}
${unaryFn(op, 'f', 'p.a', 'p.b')}`,
      'p.total',
      'y[e] = f(x[e]);',
    ),
};

/** y = op(x) elementwise, with the op's parameters (ONNX defaults where absent). */
export function encodeUnary(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  op: UnaryOp,
  params?: UnaryParams,
): void {
  checkUnaryOp(op);
  if (y.size !== x.size)
    throw new GpuError('invalid-argument', `${op} writes ${x.size} values into a tensor of ${y.size}.`);
  const [a, b] = unaryParams(op, params);
  encodeElementwise(r, op, UNARY, { op }, PARAMS, { total: x.size, a, b }, [x, y]);
}

/** y = act(x): the fused epilogue activations as a kernel of their own. */
export function encodeActivation(r: Recorder, x: GpuTensor, y: GpuTensor, activation: Activation): void {
  checkActivation(activation);
  encodeUnary(r, x, y, activation === 'none' ? 'identity' : activation);
}

export const PARAM_ACTIVATIONS = ['leakyrelu', 'hardsigmoid', 'hardswish'] as const;
export type ParamActivation = (typeof PARAM_ACTIVATIONS)[number];

/** y = LeakyRelu(x; α), HardSigmoid(x; α, β) = clamp(αx + β, 0, 1), or HardSwish(x) = x·HardSigmoid(x; 1/6, ½). */
export function encodeParamActivation(
  r: Recorder,
  x: GpuTensor,
  y: GpuTensor,
  kind: ParamActivation,
  alpha = 0.01,
  beta = 0.5,
): void {
  if (!(PARAM_ACTIVATIONS as readonly string[]).includes(kind))
    throw new GpuError('invalid-argument', `unknown activation '${kind}'.`);
  encodeUnary(r, x, y, kind, { alpha, beta });
}
