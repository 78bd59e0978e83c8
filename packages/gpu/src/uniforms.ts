import { GpuError } from './errors.js';

/** A field of a uniform struct: a u32, an f32 (sent as its bit pattern), or a list of up to `n` u32s. */
export type UniformField = 'u32' | 'f32' | { readonly u32s: number };

/** The value of each field: a number, or the list of a list field. */
export type UniformValues<F extends string> = { readonly [K in F]: number | readonly number[] };

const f32Bits = new Float32Array(1);
const u32Bits = new Uint32Array(f32Bits.buffer);

/**
 * A uniform struct declared once, so that its WGSL and the host's packing agree by construction.
 * Scalars follow one another; a list is an `array<vec4u, ⌈n/4⌉>` (uniform arrays need 16-byte
 * elements), read in WGSL as `p.name[i / 4u][i % 4u]` ({@link uniformAt}). Sizes that vary per layer
 * or batch go here rather than into a program's spec, so one pipeline serves them all.
 */
export class UniformStruct<F extends string> {
  private readonly layout: { name: F; type: UniformField; offset: number }[] = [];
  /** Size in 32-bit words. */
  readonly words: number;

  constructor(
    /** The WGSL struct's name, unique within a program. */
    readonly name: string,
    fields: { readonly [K in F]: UniformField },
  ) {
    let at = 0;
    for (const [name, type] of Object.entries(fields) as [F, UniformField][]) {
      if (typeof type === 'object') at = Math.ceil(at / 4) * 4;
      this.layout.push({ name, type, offset: at });
      at += typeof type === 'object' ? Math.ceil(type.u32s / 4) * 4 : 1;
    }
    this.words = at;
  }

  /** The struct and its binding as `var<uniform> p` at `binding` of group 0. */
  wgsl(binding: number): string {
    const members = this.layout.map(
      ({ name, type }) =>
        `  ${name}: ${typeof type === 'object' ? `array<vec4u, ${Math.ceil(type.u32s / 4)}>` : type},`,
    );
    return `struct ${this.name} {\n${members.join('\n')}\n}\n@group(0) @binding(${binding}) var<uniform> p: ${this.name};`;
  }

  /** The struct's words for `values`: f32 fields as bit patterns (±Infinity as ±the largest f32), lists zero-padded. */
  pack(values: UniformValues<F>): Uint32Array {
    const out = new Uint32Array(this.words);
    for (const { name, type, offset } of this.layout) {
      const v = values[name];
      if (typeof type === 'object') {
        const list = v as readonly number[];
        if (list.length > type.u32s)
          throw new GpuError(
            'limit-exceeded',
            `${list.length} values for '${name}' exceed the kernel's ${type.u32s}; use fewer dimensions.`,
          );
        for (let i = 0; i < list.length; i++) out[offset + i] = u32(list[i]!, name);
      } else if (type === 'f32') {
        f32Bits[0] = Math.max(-F32_MAX, Math.min(F32_MAX, v as number));
        out[offset] = u32Bits[0]!;
      } else out[offset] = u32(v as number, name);
    }
    return out;
  }
}

/** The largest finite f32: infinite bounds are sent as this, as shader math need not honour infinities. */
export const F32_MAX = 3.4028234663852886e38;

function u32(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new GpuError('invalid-argument', `uniform '${name}' must be a u32, got ${v}.`);
  return v;
}

/** WGSL reading element `i` (a u32 expression) of the list field `field` of the uniform `p`. */
export function uniformAt(field: string, i: string): string {
  return `p.${field}[(${i}) / 4u][(${i}) % 4u]`;
}
