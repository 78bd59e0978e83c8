import type { GpuTensor } from '../tensor.js';
import { type Access, type Activation, activationFn } from '../wgsl.js';

/**
 * A conv kernel's output stage, part of its pipeline spec: y[i] = act(v + res[i]) where the layer
 * adds a residual tensor of y's shape and layout (a ResNet shortcut, fused so that neither the Add nor
 * the activation after it is a pass of its own), else y[i] = act(v). v already holds the bias.
 */
export interface Epilogue {
  readonly activation: Activation;
  readonly residual: boolean;
}

/** Output buffers of a conv kernel: y, and the residual added into it where there is one. */
export interface ResidualBuffers {
  readonly y: GpuTensor;
  readonly res?: GpuTensor | undefined;
}

/** The epilogue of a kernel writing `b`: a residual exactly where the buffers carry one. */
export function epilogueOf(activation: Activation, b: ResidualBuffers): Epilogue {
  return { activation, residual: b.res !== undefined };
}

/** The output binding `y`, then the residual's where there is one; bind {@link outputBuffers} in this order. */
export function outputBindings(e: Epilogue): readonly (readonly [string, string, Access])[] {
  return [
    ['y', 'array<f32>', 'read_write'],
    ...(e.residual ? ([['res', 'array<f32>', 'read']] as const) : []),
  ];
}

/** The buffers of {@link outputBindings}, in order. */
export function outputBuffers(b: ResidualBuffers): readonly GpuTensor[] {
  return b.res ? [b.y, b.res] : [b.y];
}

/** `fn act` and `fn emit(i: u32, v: f32)`, which stores output element i through the epilogue. */
export function epilogueFns(e: Epilogue): string {
  return `${activationFn(e.activation)}
fn emit(i: u32, v: f32) { y[i] = act(v${e.residual ? ' + res[i]' : ''}); }`;
}
