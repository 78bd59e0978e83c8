import { GpuError } from './errors.js';

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
  const body = {
    none: 'return v;',
    relu: 'return max(v, 0.0);',
    relu6: 'return clamp(v, 0.0, 6.0);',
    htanh: 'return clamp(v, -1.0, 1.0);',
    sigmoid: 'return 1.0 / (1.0 + exp(-v));',
  }[a];
  return `fn act(v: f32) -> f32 { ${body} }`;
}

export type Access = 'read' | 'read_write';

/** Storage bindings first, first + 1, … of group 0, in order. */
export function bindings(
  list: readonly (readonly [name: string, type: string, access: Access])[],
  first = 0,
): string {
  return list
    .map(
      ([name, type, access], i) =>
        `@group(0) @binding(${first + i}) var<storage, ${access}> ${name}: ${type};`,
    )
    .join('\n');
}

/** The linear workgroup index of a dispatch spread by `grid()` over x (nx wide) and y. */
export function workgroupIndex(nx: number): string {
  return `let wg = wid.x + wid.y * ${u(nx)};`;
}

/** A sliding window over an h×w plane: kernel, stride, dilation and the top/left padding. */
export interface Window {
  readonly h: number;
  readonly w: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly dh: number;
  readonly dw: number;
  readonly pt: number;
  readonly pl: number;
}

/**
 * Loops `body` over the in-bounds taps of output position (oy, ox) with `ky`, `kx`, and the input
 * coordinates `iy`, `ix` (u32) in scope; taps in the padding are skipped.
 */
export function windowLoop(win: Window, oy: string, ox: string, body: string): string {
  return `for (var ky = 0u; ky < ${u(win.kh)}; ky++) {
    let sy = i32(${oy} * ${u(win.sh)} + ky * ${u(win.dh)}) - ${win.pt};
    if (sy < 0 || sy >= ${win.h}) { continue; }
    let iy = u32(sy);
    for (var kx = 0u; kx < ${u(win.kw)}; kx++) {
      let sx = i32(${ox} * ${u(win.sw)} + kx * ${u(win.dw)}) - ${win.pl};
      if (sx < 0 || sx >= ${win.w}) { continue; }
      let ix = u32(sx);
      ${body}
    }
  }`;
}
