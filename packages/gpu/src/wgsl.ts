import { GpuError } from './errors.js';
import { unaryFn } from './pointwise.js';
import type { UniformStruct } from './uniforms.js';

// WGSL is assembled from numbers and from this module's fixed snippets only, never from strings that
// come from a model file: every value below is checked before it reaches shader source.

/** An unsigned integer literal. */
export function u(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new GpuError('invalid-argument', `${n} is not a u32 shader constant.`);
  return `${n}u`;
}

/** A finite f32 literal. */
export function f(x: number): string {
  if (!Number.isFinite(x)) throw new GpuError('invalid-argument', `${x} is not a finite shader constant.`);
  const s = `${Math.fround(x)}`;
  return /[.e]/.test(s) ? `f32(${s})` : `${s}.0`;
}

export const ACTIVATIONS = ['none', 'relu', 'relu6', 'htanh', 'sigmoid'] as const;
/** A pointwise activation fused into a kernel's epilogue. */
export type Activation = (typeof ACTIVATIONS)[number];

export function checkActivation(a: string): asserts a is Activation {
  if (!(ACTIVATIONS as readonly string[]).includes(a))
    throw new GpuError(
      'invalid-argument',
      `unknown activation '${a}'; use one of ${ACTIVATIONS.join(', ')}.`,
    );
}

/** `fn act(v: f32) -> f32` for the activation. */
export function activationFn(a: Activation): string {
  checkActivation(a);
  return unaryFn(a === 'none' ? 'identity' : a, 'act');
}

export type Access = 'read' | 'read_write';

/**
 * Storage bindings first, first + 1, … of group 0, in order; then, given `params`, its uniform
 * struct `p` at the next binding.
 */
export function bindings(
  list: readonly (readonly [name: string, type: string, access: Access])[],
  first = 0,
  params?: UniformStruct<string>,
): string {
  const storage = list.map(
    ([name, type, access], i) => `@group(0) @binding(${first + i}) var<storage, ${access}> ${name}: ${type};`,
  );
  return [...storage, ...(params ? [params.wgsl(first + list.length)] : [])].join('\n');
}

/** The linear workgroup index of a dispatch spread by `grid()` over x (nx wide) and y. */
export function workgroupIndex(nx: number): string {
  return `let wg = wid.x + wid.y * ${u(nx)};`;
}

/** A sliding window over an h×w plane: kernel, stride, dilation and the top/left padding. */
export interface Window<T = number> {
  readonly h: T;
  readonly w: T;
  readonly kh: T;
  readonly kw: T;
  readonly sh: T;
  readonly sw: T;
  readonly dh: T;
  readonly dw: T;
  readonly pt: T;
  readonly pl: T;
}

/** A window of known sizes as WGSL literals, for {@link windowLoop}. */
export function windowLiterals(win: Window): Window<string> {
  // the plane and padding are compared with signed coordinates: i32 literals, checked as u32s are
  const i = (n: number) => u(n).slice(0, -1);
  return {
    h: i(win.h),
    w: i(win.w),
    kh: u(win.kh),
    kw: u(win.kw),
    sh: u(win.sh),
    sw: u(win.sw),
    dh: u(win.dh),
    dw: u(win.dw),
    pt: i(win.pt),
    pl: i(win.pl),
  };
}

/**
 * Loops `body` over the in-bounds taps of output position (oy, ox) with `ky`, `kx`, and the input
 * coordinates `iy`, `ix` (u32) in scope; taps in the padding are skipped. The window's sizes are
 * WGSL expressions: kh, kw, sh, sw, dh, dw u32, and h, w, pt, pl i32.
 */
export function windowLoop(win: Window<string>, oy: string, ox: string, body: string): string {
  return `for (var ky = 0u; ky < ${win.kh}; ky++) {
    let sy = i32(${oy} * ${win.sh} + ky * ${win.dh}) - ${win.pt};
    if (sy < 0 || sy >= ${win.h}) { continue; }
    let iy = u32(sy);
    for (var kx = 0u; kx < ${win.kw}; kx++) {
      let sx = i32(${ox} * ${win.sw} + kx * ${win.dw}) - ${win.pl};
      if (sx < 0 || sx >= ${win.w}) { continue; }
      let ix = u32(sx);
      ${body}
    }
  }`;
}
