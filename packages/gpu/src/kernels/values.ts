import { type Access, bindings, u } from '../wgsl.js';
import { type Epilogue, epilogueFns, outputBindings } from './epilogue.js';

/**
 * Where a sparse kernel's non-zero values come from: an f32 array, or k-bit codebook indices with the
 * codebook in workgroup memory (Deep Compression weights executed without decompressing them).
 */
export type ValueSource =
  | { readonly kind: 'f32' }
  | { readonly kind: 'codebook'; readonly size: number; readonly bits: number };

/**
 * A sparse conv kernel's bindings, in the order its buffers are bound: `inputs`, the bias, the
 * epilogue's outputs, then the values; with the epilogue's `emit`.
 */
export function sparseConvBindings(
  inputs: readonly (readonly [string, string, Access])[],
  epilogue: Epilogue,
  values: ValueSource,
): string {
  const list = [...inputs, ['bias', 'array<f32>', 'read'] as const, ...outputBindings(epilogue)];
  return `${bindings(list)}
${valueBindings(values, list.length)}
${epilogueFns(epilogue)}`;
}

/** Binding declarations for the values (two buffers for a codebook), starting at `first`. */
export function valueBindings(v: ValueSource, first: number): string {
  const list =
    v.kind === 'f32'
      ? ([['vals', 'array<f32>', 'read']] as const)
      : ([
          ['codes', 'array<u32>', 'read'],
          ['codebook', 'array<f32>', 'read'],
        ] as const);
  return bindings(list, first);
}

/** Module-scope declarations: the codebook copy in workgroup memory and `fn value(j)`. */
export function valueDecls(v: ValueSource): string {
  if (v.kind === 'f32') return 'fn value(j: u32) -> f32 { return vals[j]; }';
  const per = 32 / v.bits;
  return `var<workgroup> cb: array<f32, ${u(v.size)}>;
fn value(j: u32) -> f32 {
  let word = codes[j / ${u(per)}];
  return cb[(word >> ((j % ${u(per)}) * ${u(v.bits)})) & ${u(2 ** v.bits - 1)}];
}`;
}

/** Statements at the top of main: threads of a `threads`-wide workgroup copy the codebook, then sync. */
export function valuePrologue(v: ValueSource, threads: number): string {
  if (v.kind === 'f32') return '';
  return `for (var i = li; i < ${u(v.size)}; i += ${u(threads)}) { cb[i] = codebook[i]; }
  workgroupBarrier();`;
}
