import type { Program } from '../device.js';
import type { ConvGeometry } from '../geometry.js';
import { grid, type Recorder } from '../recorder.js';
import { type Activation, bindings, u, workgroupIndex } from '../wgsl.js';
import { type Epilogue, epilogueFns, epilogueOf, outputBindings, outputBuffers } from './epilogue.js';
import type { ConvBuffers } from './gemm-conv.js';

// A fully-connected layer on a few rows (a 1×1 conv on 1×1 maps: FC heads, squeeze-excitation) is a
// matrix-vector product that streams the weight matrix once: the tiled GEMM, whose tiles are 32 or
// more pixels wide, would waste all but these rows and leave most of the GPU idle (on an H100, VGG-16's
// three FC layers at batch 1 took 3.4 ms as GEMM against the 0.2 ms that reading 0.5 GB takes).
// A workgroup owns ROWS output channels; its threads split K, each loading the rows' weights as
// vectors once for every batch row, and add their partial sums in workgroup memory.

/** Output channels per workgroup. */
const ROWS = 4;
/** Threads per workgroup, which split K. */
const THREADS = 128;
/** The most batch rows the kernel takes: its partial sums, ROWS × rows × THREADS, fill 16 KiB of workgroup memory. */
export const GEMV_MAX_ROWS = 8;

/** Whether a conv is a matrix-vector product the GEMV kernel runs: 1×1 on 1×1 maps, one group, few images. */
export function isGemv(geo: ConvGeometry): boolean {
  return (
    geo.groups === 1 &&
    geo.kh === 1 &&
    geo.kw === 1 &&
    geo.h === 1 &&
    geo.w === 1 &&
    geo.ho === 1 &&
    geo.wo === 1 &&
    geo.n <= GEMV_MAX_ROWS
  );
}

interface GemvSpec {
  readonly geo: ConvGeometry;
  readonly epilogue: Epilogue;
  readonly maxDim: number;
}

/** Values per load: 4 where every row of K starts on a 16-byte boundary, else 1. */
const vectorWidth = (k: number) => (k % 4 === 0 ? 4 : 1);

const GEMV: Program<GemvSpec> = {
  name: 'gemv',
  wgsl: ({ geo, epilogue, maxDim }) => {
    const { n, c, o } = geo;
    const v = vectorWidth(c);
    const vt = v === 4 ? 'vec4<f32>' : 'f32';
    const kv = c / v;
    const values = ROWS * n;
    const [nx] = grid(Math.ceil(o / ROWS), maxDim);
    const rows = Array.from({ length: ROWS }, (_, r) => r);
    const images = Array.from({ length: n }, (_, b) => b);
    const product = (a: string, b: string) => (v === 4 ? `dot(${a}, ${b})` : `${a} * ${b}`);
    return /* wgsl */ `
${bindings([['x', `array<${vt}>`, 'read'], ['w', `array<${vt}>`, 'read'], ['bias', 'array<f32>', 'read'], ...outputBindings(epilogue)])}
${epilogueFns(epilogue)}
${partialSumsDecl(values, THREADS)}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  let o0 = wg * ${u(ROWS)};
  // rows past the last output channel read the last one's weights and store nothing
  ${rows.map((r) => `let w${r} = min(o0 + ${u(r)}, ${u(o - 1)}) * ${u(kv)};`).join('\n  ')}
  var acc: array<f32, ${values}>;
  for (var k = li; k < ${u(kv)}; k += ${u(THREADS)}) {
    ${images.map((b) => `let x${b} = x[${u(b * kv)} + k];`).join(' ')}
    ${rows
      .map(
        (r) =>
          `{ let wr = w[w${r} + k]; ${images.map((b) => `acc[${r * n + b}] += ${product('wr', `x${b}`)};`).join(' ')} }`,
      )
      .join('\n    ')}
  }
  for (var j = 0u; j < ${u(values)}; j++) { part[j * ${u(THREADS)} + li] = acc[j]; }
  ${sumPartials(values, THREADS)}
  if (li < ${u(values)}) {
    let oc = o0 + li / ${u(n)};
    if (oc < ${u(o)}) { emit((li % ${u(n)}) * ${u(o)} + oc, part[li * ${u(THREADS)}] + bias[oc]); }
  }
}`;
  },
};

/** Workgroup memory for `values` partial sums of each of `threads` threads, value j of thread t at j·threads + t. */
export function partialSumsDecl(values: number, threads: number): string {
  return `var<workgroup> part: array<f32, ${values * threads}>;`;
}

/**
 * Adds the threads' parked partial sums (see {@link partialSumsDecl}) in a tree: value j's total ends
 * at part[j·threads]. `threads` is a power of two; every thread of the workgroup runs it.
 */
export function sumPartials(values: number, threads: number): string {
  return `workgroupBarrier();
  for (var s = ${u(threads / 2)}; s > 0u; s >>= 1u) {
    if (li < s) {
      for (var j = 0u; j < ${u(values)}; j++) { part[j * ${u(threads)} + li] += part[j * ${u(threads)} + li + s]; }
    }
    workgroupBarrier();
  }`;
}

/** Records y = act(x·Wᵀ + bias (+ res)) for a conv {@link isGemv} accepts; W is the layer's OIHW weights. */
export function encodeGemvConv(r: Recorder, b: ConvBuffers, geo: ConvGeometry, activation: Activation): void {
  const maxDim = r.gpu.limits.maxComputeWorkgroupsPerDimension;
  const epilogue = epilogueOf(activation, b, geo);
  r.dispatch(
    'gemv',
    r.gpu.pipeline(GEMV, { geo, epilogue, maxDim }),
    [b.x, b.w, b.bias, ...outputBuffers(b)],
    grid(Math.ceil(geo.o / ROWS), maxDim),
  );
}
