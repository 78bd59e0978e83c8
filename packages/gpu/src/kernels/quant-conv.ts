import type { Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { ConvGeometry } from '../geometry.js';
import { quantLevels } from '../quant-conv-reference.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import { bindings, u, workgroupIndex } from '../wgsl.js';
import { type BitPoolGeometry, maxCodes } from './bit-pool.js';
import { encodingPlanes, type PackedEncoding } from './pack-bits.js';

/*
 * QuantConv on packed planes: acc = Σ a·w over in-bounds taps and channels, 32 channels per word op.
 * Both codes are linear in their bit planes, so every product is a sum of popcounts of ANDed (or, for
 * two signed sides, XORed) words:
 *  - signed codes are mask·(1 − 2·neg) (mask all ones for sign/binary, the non-zero plane for sign0/ternary);
 *  - "bits" activations are Σ 2^m·b_m; "bits" weights are 2q − Lw with q = Σ 2^n·q_n.
 * Terms that depend on the input word alone (and the channel count of each word, for all-ones masks)
 * are the same for every output channel and are summed once per pixel.
 *
 * Work split: a workgroup computes a tile of output pixels × 32 output channels, and the first thread
 * of each pixel owns all 32 channels, so a sign or k-bit output is one whole word per plane, written
 * without atomics. Weight words of the 32 channels are staged in workgroup memory, K-chunk by K-chunk,
 * and read as broadcasts (small layers, bound by latency, read them from the buffer instead); each
 * input word is loaded once per pixel and used for all 32 channels; words are loaded and combined as
 * vectors of up to 4. Small layers split K among the threads of a pixel and
 * spread its 32 channels over several threads (see {@link tiling}); their partial sums meet in
 * workgroup memory without atomics (see {@link splitReduction}), and the (channel, pixel) outputs are
 * then spread over all the threads.
 *
 * A packed output may be max pooled in the same dispatch: the workgroup's pixels are then the taps of
 * whole pool windows (a window's taps in consecutive threads), each tap's codes are parked in
 * workgroup memory, and one thread per window folds them into the pooled words. The max of codes is
 * the code of the max, so this equals pooling the packed output (a conv output under two overlapping
 * windows is computed for each).
 */

/** What the packed weight planes hold: ±1 (1 plane: negative), ternary (non-zero, negative), or k-bit q. */
export type WeightEncoding =
  | { readonly mode: 'binary' }
  | { readonly mode: 'ternary' }
  | { readonly mode: 'bits'; readonly bits: number };

/**
 * What the kernel writes: f32 NCHW S·acc + B (plus a residual R of the output's shape, and the packed
 * sign of the sum as a second output: a Bi-Real block in one dispatch, its next binary conv's input
 * included), or packed sign / k-bit codes from integer thresholds.
 */
export type QuantConvOutput =
  | { readonly mode: 'float'; readonly residual?: boolean; readonly sign?: boolean }
  | Exclude<PackedEncoding, { mode: 'sign0' }>;

export interface QuantConvKernel {
  readonly geo: ConvGeometry;
  readonly input: PackedEncoding;
  readonly weights: WeightEncoding;
  readonly output: QuantConvOutput;
  /**
   * Threads that share one pixel's 32 output channels (1, 2, 4 or 8; at most 32 over the vector width
   * of a position's words): chosen from the layer's size when left out, set to compare tilings.
   */
  readonly lanes?: number;
  /**
   * Whether the weight words of the 32 channels are staged in workgroup memory before the taps read
   * them (else each thread reads its own from the buffer): chosen from the tiling when left out, set
   * to compare.
   */
  readonly stageWeights?: boolean;
  /** A max pool over the packed output ([N, O, Ho, Wo] in), written instead of the output itself. */
  readonly pool?: BitPoolGeometry;
}

export function weightPlaneCount(w: WeightEncoding): number {
  return w.mode === 'binary' ? 1 : w.mode === 'ternary' ? 2 : w.bits;
}

/** Output channels per workgroup: one output word. */
const CHANNELS = 32;
/** Workgroup memory for staged weights, reused by the split-K reduction, in words: 16 KiB, WebGPU's guaranteed minimum. */
const SHARED_WORDS = 4096;
/** Threads of a workgroup at most: WebGPU's guaranteed invocations per workgroup. */
const MAX_THREADS = 256;
/** Threads of a K-split workgroup's (pixel, split) pairs: as many as can park their 32 partial sums in that memory. */
const SPLIT_THREADS = SHARED_WORDS / CHANNELS;
/** Workgroups below which a layer splits K inside the workgroup (about one per SM of a large GPU, twice). */
const MIN_GROUPS = 256;
/** Threads below which a layer spreads a pixel's channels over several threads: 4 warps per scheduler of an H100. */
const MIN_THREADS = 65536;
/** Threads per pixel at most: each keeps 4 channels or more, so its sums park as whole vectors. */
const MAX_LANES = 8;
/** Pixels of a workgroup at most, and so the taps of a pool window that can be fused. */
const MAX_PIXELS = 64;
/** Pixels of a workgroup at least, pool windows aside. */
const MIN_PIXELS = 8;
/**
 * Outputs (pixels × channels) from which weights are staged in workgroup memory. Below it a layer is
 * bound by latency, and the staging's load and barrier cost more than shared reads save: on an H100,
 * Bi-Real ResNet-18's binary convs at batch 1 (25–200 K outputs) and BinaryNet's at batch 1 ran
 * 2–11% faster unstaged, and BinaryNet's 3.2 M-output conv at batch 256 15% slower.
 */
const STAGE_MIN_OUTPUTS = 2 ** 18;

/** Whether a max pool with this window can be fused into the conv: its taps fit in one workgroup's pixels. */
export const fusesPool = (pool: BitPoolGeometry) => pool.kh * pool.kw <= MAX_PIXELS;

/** Taps of the fused pool's window (1 without one): the pixels that make one pooled pixel. */
const poolTaps = (k: QuantConvKernel) => (k.pool ? k.pool.kh * k.pool.kw : 1);

/** The pixels the kernel computes: the conv's outputs, or with a pool the taps of every pool window. */
function pixelCount(k: QuantConvKernel): number {
  const { geo, pool } = k;
  return pool ? pool.n * pool.ho * pool.wo * poolTaps(k) : geo.n * geo.ho * geo.wo;
}

/**
 * How a workgroup covers its 32 channels: `pixels` output pixels, each summed by `splits` threads
 * over interleaved K columns, and each of those spread over `lanes` threads of 32/lanes channels.
 * Large layers take 64 pixels, no split and one lane: a thread loads each input word once for all
 * 32 channels. Small ones (batch 1, late stages: a 7×7×512 layer has 16 workgroups of 64 pixels) take
 * fewer pixels, up to {@link SPLIT_THREADS} threads that split K, and then more lanes, so that enough
 * threads share the work (a thread's 32 channels in series left an H100 with under one warp per
 * scheduler on ResNet-18's stages at batch 1), and add their sums in workgroup memory.
 */
interface Tiling {
  readonly pixels: number;
  readonly splits: number;
  readonly lanes: number;
  /** K columns (vectors) per pass over the staged weights; all of K when they are not staged. */
  readonly chunk: number;
  readonly staged: boolean;
}

/** Words loaded and combined as one vector: 4, 2 or 1, whichever divides a position's ⌈C/32⌉ words. */
function vectorWidth(geo: ConvGeometry): number {
  const words = Math.ceil(geo.c / 32);
  return words % 4 === 0 ? 4 : words % 2 === 0 ? 2 : 1;
}

function tiling(k: QuantConvKernel): Tiling {
  const { geo } = k;
  const v = vectorWidth(geo);
  const kTotal = (geo.kh * geo.kw * Math.ceil(geo.c / 32)) / v;
  const p = pixelCount(k);
  const taps = poolTaps(k);
  const blocks = Math.ceil(geo.o / CHANNELS);
  let pixels = MAX_PIXELS;
  const least = Math.max(MIN_PIXELS, taps);
  while (pixels / 2 >= least && Math.ceil(p / pixels) * blocks < MIN_GROUPS) pixels /= 2;
  let splits = 1;
  if (pixels < MAX_PIXELS || Math.ceil(p / pixels) * blocks < MIN_GROUPS)
    while (splits * pixels < SPLIT_THREADS && splits * 2 <= kTotal) splits *= 2;
  if (splits === 1) pixels = MAX_PIXELS;
  // whole pool windows to a workgroup
  pixels -= pixels % taps;
  const maxLanes = Math.min(MAX_LANES, CHANNELS / v, MAX_THREADS / (pixels * splits));
  let lanes = 1;
  if (k.lanes !== undefined) {
    lanes = k.lanes;
    if (!(Number.isInteger(lanes) && lanes >= 1 && Number.isInteger(Math.log2(lanes)) && lanes <= maxLanes))
      throw new GpuError(
        'invalid-argument',
        `this QuantConv takes 1 to ${maxLanes} lanes per pixel in powers of 2, got ${lanes}; leave lanes out to let the layer's size choose.`,
      );
  } else {
    const threads = Math.ceil(p / pixels) * blocks * pixels * splits;
    while (lanes * 2 <= maxLanes && threads * lanes < MIN_THREADS) lanes *= 2;
  }
  const staged = k.stageWeights ?? p * geo.o >= STAGE_MIN_OUTPUTS;
  const chunk = staged
    ? Math.min(kTotal, Math.floor(SHARED_WORDS / (CHANNELS * weightPlaneCount(k.weights) * v)))
    : kTotal;
  return { pixels, splits, lanes, chunk, staged };
}

/** a & b where undefined means all ones. */
const and = (a: string | undefined, b: string | undefined) =>
  a === undefined ? b : b === undefined ? a : `(${a} & ${b})`;
const scaled = (c: number, e: string) => (c === 1 ? e : `${c} * ${e}`);

interface Signed {
  readonly mask: string | undefined;
  readonly neg: string;
}

function signedSide(mode: string, prefix: string): Signed | undefined {
  if (mode === 'sign' || mode === 'binary') return { mask: undefined, neg: `${prefix}0` };
  if (mode === 'sign0' || mode === 'ternary') return { mask: `${prefix}0`, neg: `${prefix}1` };
  return undefined;
}

/**
 * The products of one input word (x0, x1, …) with one weight word (w0, w1, …): `perChannel` depends
 * on the weights, `perPixel` on the input alone; `ones` is the coefficient of the word's channel count.
 */
function products(
  k: QuantConvKernel,
  pc: (e: string) => string,
): { perChannel: string; perPixel: string[]; ones: number } {
  const sa = signedSide(k.input.mode, 'x');
  const sw = signedSide(k.weights.mode, 'w');
  const aBits = k.input.mode === 'bits' ? k.input.bits : 0;
  const wBits = k.weights.mode === 'bits' ? k.weights.bits : 0;
  const lw = wBits ? quantLevels(wBits) : 1;
  const terms: string[] = [];
  const perPixel: string[] = [];
  let ones = 0;
  const plane = (x: string | undefined, to: string[], c: number) => {
    if (x === undefined) ones += c;
    else to.push(scaled(c, pc(x)));
  };
  if (sa && sw) {
    // mask·(1 − 2·neg) products: Ma·Mw·(1 − 2·(Na ⊕ Nw))
    const m = and(sa.mask, sw.mask);
    plane(m, terms, 1);
    terms.push(scaled(-2, pc(and(m, `(${sa.neg} ^ ${sw.neg})`)!)));
  } else if (sw) {
    // Σ 2^m·b_m·Mw·(1 − 2·Nw), Nw ⊂ Mw
    for (let m = 0; m < aBits; m++) {
      const b = `x${m}`;
      (sw.mask === undefined ? perPixel : terms).push(scaled(2 ** m, pc(and(b, sw.mask)!)));
      terms.push(scaled(-(2 ** (m + 1)), pc(`(${b} & ${sw.neg})`)));
    }
  } else if (sa) {
    // Ma·(1 − 2·Na)·(2q − Lw), Na ⊂ Ma
    for (let n = 0; n < wBits; n++) {
      terms.push(scaled(2 ** (n + 1), pc(and(sa.mask, `w${n}`)!)));
      terms.push(scaled(-(2 ** (n + 2)), pc(`(${sa.neg} & w${n})`)));
    }
    plane(sa.mask, perPixel, -lw);
    perPixel.push(scaled(2 * lw, pc(sa.neg)));
  } else {
    // Σ 2^m·b_m·(2q − Lw)
    for (let m = 0; m < aBits; m++) {
      for (let n = 0; n < wBits; n++) terms.push(scaled(2 ** (m + n + 1), pc(`(x${m} & w${n})`)));
      perPixel.push(scaled(-lw * 2 ** m, pc(`x${m}`)));
    }
  }
  return { perChannel: terms.join(' + ') || '0', perPixel, ones };
}

/**
 * Statements for a thread's sums i = 0..count−1, of channels j = c0 + i of the 32 (j = i without a
 * `c0`): unrolled (so that acc stays in registers) unless the body is large.
 */
function forChannels(
  count: number,
  body: (i: string, j: string) => string,
  unroll: boolean,
  c0?: string,
): string {
  const channel = (i: string) => (c0 === undefined ? i : `(${c0} + ${i})`);
  if (!unroll) return `for (var i = 0u; i < ${u(count)}; i++) { ${body('i', channel('i'))} }`;
  return Array.from({ length: count }, (_, i) => `{ ${body(`${i}u`, channel(`${i}u`))} }`).join('\n    ');
}

/**
 * One output channel j from its sum `a` (with o0, n and s of its pixel in scope): statements that
 * store a float output, and the channel's packed code (the sign bit, or the k-bit level q), if any.
 */
function channelOutput(k: QuantConvKernel, j: string, a: string): { body: string; code?: string } {
  const { geo } = k;
  switch (k.output.mode) {
    case 'float': {
      const { residual, sign } = k.output;
      const body = `let o = o0 + ${j}; let at = (n * ${u(geo.o)} + o) * ${u(geo.ho * geo.wo)} + s;
      let v = scale[o] * f32(${a}) + bias[o]${residual ? ' + res[at]' : ''};
      y[at] = v;`;
      // the sign is taken of the value stored, so that it is the packing of y whatever rounding y had
      return sign ? { body, code: 'select(0u, 1u, v < 0.0)' } : { body };
    }
    case 'sign':
      return { body: '', code: `select(0u, 1u, ${a} < th[o0 + ${j}])` };
    case 'bits': {
      const bits = k.output.bits;
      return {
        body: `let t = (o0 + ${j}) * ${u(quantLevels(bits))}; var q = 0u;
      for (var step = ${u(2 ** (bits - 1))}; step > 0u; step >>= 1u) { if (${a} >= th[t + q + step - 1u]) { q += step; } }`,
        code: 'q',
      };
    }
  }
}

/** Planes of the packed codes the kernel writes: the sign plane of a float output, or the output's. */
function codePlanes(k: QuantConvKernel): number {
  if (k.output.mode === 'float') return k.output.sign ? 1 : 0;
  return k.output.mode === 'sign' ? 1 : k.output.bits;
}

/** Statements that set bit j of each plane word pl[m] from a channel's code. */
const packCode = (planes: number, j: string, code: string) =>
  planes === 1
    ? `pl[0] |= ${code} << ${j};`
    : `for (var m = 0u; m < ${u(planes)}; m++) { pl[m] |= ((${code} >> m) & 1u) << ${j}; }`;

/** The pixel's plane words pl[m] stored: the float output's sign plane, or the packed output. */
function storePlanes(k: QuantConvKernel, p: number): string {
  const ow = Math.ceil(k.geo.o / CHANNELS);
  const at = `pix * ${u(ow)} + ob`;
  if (k.output.mode === 'float') return `ys[${at}] = pl[0];`;
  return `for (var m = 0u; m < ${u(codePlanes(k))}; m++) { y[m * ${u(p * ow)} + ${at}] = pl[m]; }`;
}

const guarded = (k: QuantConvKernel, j: string, s: string) =>
  k.geo.o % CHANNELS === 0 ? s : `if (o0 + ${j} < ${u(k.geo.o)}) { ${s} }`;

/**
 * With a pool, in place of {@link storePlanes}: each pixel's plane words pl[m] parked (a tap outside
 * the conv's output as the fold's identity), then one thread per pool window folds its taps' words
 * and writes the pooled words. Runs in uniform control flow: it holds a barrier.
 */
function poolStore(k: QuantConvKernel, pool: BitPoolGeometry, pixels: number): string {
  const planes = codePlanes(k);
  const taps = poolTaps(k);
  const windows = pixels / taps;
  const ow = Math.ceil(k.geo.o / CHANNELS);
  const pooled = pool.n * pool.ho * pool.wo;
  const { identity, fold } = maxCodes(
    k.output as Exclude<QuantConvOutput, { mode: 'float' }>,
    planes,
    (b) => `pc[${b} * ${u(pixels)} + li * ${u(taps)} + tp]`,
  );
  return `if (li < ${u(pixels)}) {
    for (var m = 0u; m < ${u(planes)}; m++) { pc[m * ${u(pixels)} + li] = select(${identity}, pl[m], live && tapOk); }
  }
  workgroupBarrier();
  let win = (wg / ${u(ow)}) * ${u(windows)} + li;
  if (li < ${u(windows)} && win < ${u(pooled)}) {
    var m: array<u32, ${planes}>;
    for (var b = 0u; b < ${u(planes)}; b++) { m[b] = ${identity}; }
    for (var tp = 0u; tp < ${u(taps)}; tp++) { ${fold} }
    for (var b = 0u; b < ${u(planes)}; b++) { y[b * ${u(pooled * ow)} + win * ${u(ow)} + ob] = m[b]; }
  }`;
}

/** The first thread of a pixel writes all 32 channels from its own sums (pooled: folds them first). */
function epilogue(k: QuantConvKernel, p: number, pixels: number): string {
  const planes = codePlanes(k);
  const body = (j: string) => {
    const c = channelOutput(k, j, `acc[${j}] + perPixel`);
    return guarded(k, j, `${c.body}${c.code ? ` ${packCode(planes, j, `(${c.code})`)}` : ''}`);
  };
  const fill = forChannels(CHANNELS, (_, j) => body(j), true);
  if (!planes) return `if (!live) { return; }\n  ${fill}`;
  if (k.pool)
    return `var pl: array<u32, ${planes}>;
  if (live && tapOk) {
    ${fill}
  }
  ${poolStore(k, k.pool, pixels)}`;
  return `if (!live) { return; }
  var pl: array<u32, ${planes}>;
    ${fill}
    ${storePlanes(k, p)}`;
}

/**
 * The K-split threads' sums added without atomics, in the staging memory (free once K is done): each
 * thread parks its partial sums (its lane's channels) as v-channel vectors at
 * [split][channel / v][pixel]. One thread per (v channels, pixel) then adds that vector over the
 * splits and writes those v outputs, so the epilogue is spread over the workgroup, consecutive
 * threads on consecutive pixels of a channel
 * (NCHW stores coalesce); packed codes go back in the vector's place, where the first thread of each
 * pixel gathers them into its words.
 */
function splitReduction(k: QuantConvKernel, p: number, t: Tiling, v: number): string {
  const { geo } = k;
  const { pixels, lanes } = t;
  const vectors = CHANNELS / v;
  const own = vectors / lanes;
  const [vt, vi] = v === 1 ? ['u32', 'i32'] : [`vec${v}<u32>`, `vec${v}<i32>`];
  const elem = (e: string, c: string) => (v === 1 ? e : `${e}[${c}]`);
  const planes = codePlanes(k);
  const park = Array.from({ length: own }, (_, q) => {
    const sums = Array.from({ length: v }, (_, c) => `acc[${q * v + c}] + perPixel`).join(', ');
    const at = lanes > 1 ? `(lane * ${u(own)} + ${u(q)}) * ${u(pixels)}` : u(q * pixels);
    return `ws[${at} + slot] = bitcast<${vt}>(${vi}(${sums}));`;
  }).join('\n  ');
  const outputs = Array.from({ length: v }, (_, c) => {
    const out = channelOutput(k, 'j', elem('sum', `${c}`));
    const body = `${out.body}${out.code ? ` ${elem('codes', `${c}`)} = ${out.code};` : ''}`;
    return `{ let j = vq * ${u(v)} + ${u(c)}; ${guarded(k, 'j', body)} }`;
  }).join('\n      ');
  // the first thread of each pixel gathers its 32 codes into its plane words
  const gatherCodes = (): string => {
    const gather = `for (var j = 0u; j < ${u(CHANNELS)}; j++) {
    let code = ${elem(`ws[(j / ${u(v)}) * ${u(pixels)} + lp]`, `j % ${u(v)}`)};
    ${packCode(planes, 'j', 'code')}
  }`;
    if (k.pool)
      return `var pl: array<u32, ${planes}>;
  if (li < ${u(pixels)} && live && tapOk) { ${gather} }
  ${poolStore(k, k.pool, pixels)}`;
    return `if (li >= ${u(pixels)} || !live) { return; }
  var pl: array<u32, ${planes}>;
  ${gather}
  ${storePlanes(k, p)}`;
  };
  return `{
  let slot = ${t.splits > 1 ? `sp * ${u(vectors * pixels)} + ` : ''}lp;
  ${park}
  }
  workgroupBarrier();
  for (var r = li; r < ${u(vectors * pixels)}; r += ${u(t.splits * pixels * lanes)}) {
    var sum = ${vi}();
    for (var sj = 0u; sj < ${u(t.splits)}; sj++) { sum += bitcast<${vi}>(ws[sj * ${u(vectors * pixels)} + r]); }
    let vq = r / ${u(pixels)};
    let px = (wg / ${u(Math.ceil(geo.o / CHANNELS))}) * ${u(pixels)} + r % ${u(pixels)};
    var codes = ${vt}();
    if (px < ${u(p)}) {
      let n = px / ${u(geo.ho * geo.wo)};
      let s = px % ${u(geo.ho * geo.wo)};
      ${outputs}
    }
    ${planes ? 'ws[r] = codes;' : ''}
  }
  ${planes ? `workgroupBarrier();\n  ${gatherCodes()}` : ''}`;
}

/**
 * The image n and output position s of the thread's pixel pp: with a pool, pp is tap `tap` of pool
 * window `win0`, and tapOk says whether that tap lies on the conv's output (s is clamped onto it).
 */
function pixelPosition(k: QuantConvKernel): string {
  const { geo, pool } = k;
  if (!pool)
    return `let n = pp / ${u(geo.ho * geo.wo)};
  let s = pp % ${u(geo.ho * geo.wo)};`;
  const taps = poolTaps(k);
  return `let win0 = pp / ${u(taps)};
  let tap = pp % ${u(taps)};
  let n = win0 / ${u(pool.ho * pool.wo)};
  let sw0 = win0 % ${u(pool.ho * pool.wo)};
  let cy = i32((sw0 / ${u(pool.wo)}) * ${u(pool.sh)} + (tap / ${u(pool.kw)}) * ${u(pool.dh)}) - ${pool.pt};
  let cx = i32((sw0 % ${u(pool.wo)}) * ${u(pool.sw)} + (tap % ${u(pool.kw)}) * ${u(pool.dw)}) - ${pool.pl};
  let tapOk = cy >= 0 && cy < ${geo.ho} && cx >= 0 && cx < ${geo.wo};
  let s = u32(clamp(cy, 0, ${geo.ho - 1})) * ${u(geo.wo)} + u32(clamp(cx, 0, ${geo.wo - 1}));`;
}

function groups(k: QuantConvKernel): number {
  const { geo } = k;
  return Math.ceil(pixelCount(k) / tiling(k).pixels) * Math.ceil(geo.o / CHANNELS);
}

const QUANT_CONV: Program<QuantConvKernel> = {
  name: 'quant-conv',
  wgsl: (k) => {
    const { geo } = k;
    const v = vectorWidth(geo);
    const vt = v === 1 ? 'u32' : `vec${v}<u32>`;
    // K in vectors: (tap, vector of the position's words)
    const words = Math.ceil(geo.c / 32) / v;
    const kTotal = geo.kh * geo.kw * words;
    const t = tiling(k);
    const { pixels, splits, lanes, chunk: kc } = t;
    const threads = pixels * splits * lanes;
    // each thread's channels: 32/lanes in a row, from c0
    const chans = CHANNELS / lanes;
    const reduce = splits > 1 || lanes > 1;
    const pa = encodingPlanes(k.input);
    const pw = weightPlaneCount(k.weights);
    const p = pixelCount(k);
    const ob = Math.ceil(geo.o / CHANNELS);
    const total = groups(k);
    const [nx] = grid(total, 65535);
    const xPlane = geo.n * geo.h * geo.w * words;
    const { perChannel, perPixel, ones } = products(
      k,
      v === 1 ? (e) => `i32(countOneBits(${e}))` : (e) => `i32(dot(countOneBits(${e}), ${vt}(1u)))`,
    );
    const lastChannels = geo.c - 32 * v * (words - 1);
    const wordChannels =
      lastChannels === 32 * v ? `${32 * v}` : `select(${32 * v}, ${lastChannels}, wd == ${u(words - 1)})`;
    const pixelSum = [...perPixel, ...(ones === 0 ? [] : [scaled(ones, wordChannels)])];
    const paramBindings =
      k.output.mode === 'float'
        ? ([
            ['scale', 'array<f32>', 'read'],
            ['bias', 'array<f32>', 'read'],
            ...(k.output.residual ? ([['res', 'array<f32>', 'read']] as const) : []),
            ['y', 'array<f32>', 'read_write'],
            ...(k.output.sign ? ([['ys', 'array<u32>', 'read_write']] as const) : []),
          ] as const)
        : ([
            ['th', 'array<i32>', 'read'],
            ['y', 'array<u32>', 'read_write'],
          ] as const);
    const loadX = Array.from(
      { length: pa },
      (_, i) => `let x${i} = xb[${i ? `${u(i * xPlane)} + ` : ''}xi];`,
    ).join(' ');
    const loadW = (j: string) =>
      Array.from({ length: pw }, (_, i) =>
        t.staged
          ? `let w${i} = ws[${u(i * CHANNELS * kc)} + ${j} * ${u(kc)} + kk];`
          : // channels past O read the last one's words: their sums are never written
            `let w${i} = wb[(${u(i * geo.o)} + min(o0 + ${j}, ${u(geo.o - 1)})) * ${u(kTotal)} + k];`,
      ).join(' ');
    return /* wgsl */ `
${bindings([['xb', `array<${vt}>`, 'read'], ['wb', `array<${vt}>`, 'read'], ...paramBindings])}
var<workgroup> ws: array<${vt}, ${Math.max(t.staged ? pw * CHANNELS * kc : 1, reduce ? (pixels * splits * CHANNELS) / v : 0)}>;${
      k.pool ? `\nvar<workgroup> pc: array<u32, ${codePlanes(k) * pixels}>;` : ''
    }

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32) {
  ${workgroupIndex(nx)}
  if (wg >= ${u(total)}) { return; }
  let ob = wg % ${u(ob)};
  let o0 = ob * ${u(CHANNELS)};
  let lp = li % ${u(pixels)};${
    lanes > 1
      ? `
  let lane = (li / ${u(pixels)}) % ${u(lanes)};
  let c0 = lane * ${u(chans)};`
      : ''
  }${
    splits > 1
      ? `
  let sp = li / ${u(pixels * lanes)};`
      : ''
  }
  let pix = (wg / ${u(ob)}) * ${u(pixels)} + lp;
  let live = pix < ${u(p)};
  let pp = min(pix, ${u(p - 1)});
  ${pixelPosition(k)}
  let y0 = i32((s / ${u(geo.wo)}) * ${u(geo.sh)}) - ${geo.pt};
  let x0i = i32((s % ${u(geo.wo)}) * ${u(geo.sw)}) - ${geo.pl};
  var acc: array<i32, ${chans}>;
  var perPixel = 0;
  for (var k0 = 0u; k0 < ${u(kTotal)}; k0 += ${u(kc)}) {${
    t.staged
      ? `
    for (var e = li; e < ${u(pw * CHANNELS * kc)}; e += ${u(threads)}) {
      let kk = e % ${u(kc)};
      let o = o0 + (e / ${u(kc)}) % ${u(CHANNELS)};
      let k = k0 + kk;
      var v = ${vt}();
      if (k < ${u(kTotal)} && o < ${u(geo.o)}) { v = wb[(e / ${u(CHANNELS * kc)} * ${u(geo.o)} + o) * ${u(kTotal)} + k]; }
      ws[e] = v;
    }
    workgroupBarrier();`
      : ''
  }
    for (var kk = ${splits > 1 ? 'sp' : '0u'}; kk < min(${u(kc)}, ${u(kTotal)} - k0); kk += ${u(splits)}) {
      let k = k0 + kk;
      let tap = k / ${u(words)};
      let wd = k % ${u(words)};
      let iy = y0 + i32((tap / ${u(geo.kw)}) * ${u(geo.dh)});
      let ix = x0i + i32((tap % ${u(geo.kw)}) * ${u(geo.dw)});
      // taps in the zero padding contribute nothing: a padded input is neither +1 nor −1
      if (iy < 0 || iy >= ${geo.h} || ix < 0 || ix >= ${geo.w}) { continue; }
      let xi = ((n * ${u(geo.h)} + u32(iy)) * ${u(geo.w)} + u32(ix)) * ${u(words)} + wd;
      ${loadX}
      ${pixelSum.length ? `perPixel += ${pixelSum.join(' + ')};` : ''}
      ${forChannels(chans, (i, j) => `${loadW(j)} acc[${i}] += ${perChannel};`, pa * pw <= 8, lanes > 1 ? 'c0' : undefined)}
    }
    ${t.staged ? 'workgroupBarrier();' : ''}
  }
  ${reduce ? splitReduction(k, p, t, v) : epilogue(k, p, pixels)}
}`;
  },
};

export interface QuantConvBuffers {
  /** Packed input planes ({@link packedShape} of [N, C, H, W]). */
  readonly x: GpuTensor;
  /** Packed weight planes: planes × [O, kh, kw, ⌈C/32⌉]. */
  readonly w: GpuTensor;
  /** Float output: S [O] and B [O]; packed output: integer thresholds [O, Lo]. */
  readonly params: readonly GpuTensor[];
  /** f32 NCHW, or packed planes × [N, Ho, Wo, ⌈O/32⌉]. */
  readonly y: GpuTensor;
  /** Float output with a residual: R, f32 NCHW of y's shape, added to S·acc + B. */
  readonly residual?: GpuTensor;
  /** Float output with a sign: the packed sign plane [1, N, Ho, Wo, ⌈O/32⌉] of y. */
  readonly sign?: GpuTensor;
}

/** Records one QuantConv dispatch on packed inputs. */
export function encodeQuantConv(r: Recorder, b: QuantConvBuffers, k: QuantConvKernel): void {
  if (k.geo.groups !== 1)
    throw new GpuError('invalid-argument', `a QuantConv has one group, got ${k.geo.groups}.`);
  const float = k.output.mode === 'float' ? k.output : undefined;
  const { pool, geo } = k;
  if (
    pool &&
    (float ||
      !fusesPool(pool) ||
      pool.n !== geo.n ||
      pool.c !== geo.o ||
      pool.h !== geo.ho ||
      pool.w !== geo.wo)
  )
    throw new GpuError(
      'invalid-argument',
      `a QuantConv fuses a max pool of its packed [${geo.n}, ${geo.o}, ${geo.ho}, ${geo.wo}] output with at most ${MAX_PIXELS} taps, got a ${pool.kh}×${pool.kw} pool of [${pool.n}, ${pool.c}, ${pool.h}, ${pool.w}] on a${float ? ' float' : ' packed'} output; pool the output separately.`,
    );
  if (
    (b.residual !== undefined) !== (float?.residual === true) ||
    (b.sign !== undefined) !== (float?.sign === true)
  )
    throw new GpuError(
      'invalid-argument',
      'a QuantConv takes a residual buffer and a sign buffer exactly when its float output adds R and writes the sign; pass both or neither as the kernel says.',
    );
  r.dispatch(
    `quant-conv-${k.input.mode}-${k.weights.mode}-${k.output.mode}${pool ? '-pool' : ''}`,
    r.gpu.pipeline(QUANT_CONV, k),
    [b.x, b.w, ...b.params, ...(b.residual ? [b.residual] : []), b.y, ...(b.sign ? [b.sign] : [])],
    grid(groups(k), r.gpu.limits.maxComputeWorkgroupsPerDimension),
  );
}
