import type { ConvGeometry } from '../geometry.js';
import type { GpuTensor } from '../tensor.js';
import { type Access, type Activation, activationFn, u } from '../wgsl.js';

/**
 * A conv kernel's output stage, part of its pipeline spec. Kernels number output elements i as in
 * their own NCHW output [n, o, ho, wo]; the epilogue stores act(v + res[i]) where the layer adds a
 * residual of that shape (a ResNet shortcut, fused so that neither the Add nor the activation after it
 * is a pass of its own), else act(v), at i, or, where the output is a channel slice of a larger tensor
 * (a Concat's output, written in place by its inputs), at i moved to the slice. v already holds the bias.
 */
export interface Epilogue {
  readonly activation: Activation;
  readonly residual: boolean;
  /** Output i goes to (i / plane)·stride + offset + i % plane: plane and stride are per image. */
  readonly slice?: { readonly plane: number; readonly stride: number; readonly offset: number };
}

/** Output buffers of a conv kernel: y, the residual added into it where there is one, and y's first channel it writes. */
export interface ConvOutputBuffers {
  /** [n, o, ho, wo], or [n, c ≥ channel + o, ho, wo] where `channel` is given. */
  readonly y: GpuTensor;
  readonly res?: GpuTensor | undefined;
  /** The conv writes channels [channel, channel + o) of y. */
  readonly channel?: number | undefined;
}

/** The epilogue of a kernel of `geo` writing `b`: a residual and a slice exactly where the buffers ask for them. */
export function epilogueOf(activation: Activation, b: ConvOutputBuffers, geo: ConvGeometry): Epilogue {
  const residual = b.res !== undefined;
  if (b.channel === undefined) return { activation, residual };
  const hw = geo.ho * geo.wo;
  return {
    activation,
    residual,
    slice: { plane: geo.o * hw, stride: b.y.shape[1]! * hw, offset: b.channel * hw },
  };
}

/** The output binding `y`, then the residual's where there is one; bind {@link outputBuffers} in this order. */
export function outputBindings(e: Epilogue): readonly (readonly [string, string, Access])[] {
  return [
    ['y', 'array<f32>', 'read_write'],
    ...(e.residual ? ([['res', 'array<f32>', 'read']] as const) : []),
  ];
}

/** The buffers of {@link outputBindings}, in order. */
export function outputBuffers(b: ConvOutputBuffers): readonly GpuTensor[] {
  return b.res ? [b.y, b.res] : [b.y];
}

/** `fn act` and `fn emit(i: u32, v: f32)`, which stores output element i through the epilogue. */
export function epilogueFns(e: Epilogue): string {
  const s = e.slice;
  const at = s ? `(i / ${u(s.plane)}) * ${u(s.stride)} + ${u(s.offset)} + i % ${u(s.plane)}` : 'i';
  return `${activationFn(e.activation)}
fn emit(i: u32, v: f32) { y[${at}] = act(v${e.residual ? ' + res[i]' : ''}); }`;
}
