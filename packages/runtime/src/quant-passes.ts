import { batchNormScaleShift, bitsCode, lowBitRows, MAX_QUANT_BITS, quantLevels } from '@zeroskip/gpu';
import {
  type AttributeValue,
  attrNumber,
  attrNumbers,
  attrString,
  constantF32,
  type Graph,
  type GraphNode,
  readersOf,
} from './graph.js';
import { clipBounds } from './ops/activations.js';
import { usesBatchStatistics } from './ops/batch-normalization.js';
import { inferShapes } from './shape-inference.js';
import { asFloat32, float32, int64, type Tensor } from './tensor.js';

// Graph passes that bring quantized networks onto QuantConv: binary and ternary layers of exported
// PyTorch nets (Sign → Conv/Gemm/MatMul), then each batch norm + quantizer between two QuantConvs
// folded into integer thresholds on the first one's accumulator. Both leave the initializers they
// replace for removeUnused.

/** Filters as rows of `w` ([O, per]) scaled to ±α (and 0): their α, and whether any weight is 0. */
interface ScaledFilters {
  readonly normalized: Float32Array;
  readonly alpha: Float32Array;
  readonly ternary: boolean;
}

/** Splits each filter into α·{−1, 0, +1}, or undefined when a filter's non-zero magnitudes differ. */
function scaledFilters(w: Float32Array, o: number): ScaledFilters | undefined {
  const rows = lowBitRows(w, o);
  return rows && { normalized: w.map(Math.sign), alpha: rows.alpha, ternary: rows.weights === 'ternary' };
}

/** A Sign reader rewritten: the QuantConv (with any reshapes around it) and its new initializers. */
interface Rewrite {
  readonly nodes: GraphNode[];
  readonly initializers: [string, Tensor][];
}

/**
 * The QuantConv computing `node` on Sign(`x`) with weights `w` ([O, C, kh, kw] or [O, K] for an FC
 * layer, given as 1×1 filters), y = scale·(x ⊛ w) + bias; undefined when the filters are not ±α.
 */
function signQuantConv(
  node: GraphNode,
  x: string,
  y: string,
  w: Float32Array,
  shape: readonly [number, number, number, number],
  conv: Record<string, AttributeValue>,
  scale: number,
  bias: (o: number) => number,
): Rewrite | undefined {
  const o = shape[0];
  const filters = scaledFilters(w, o);
  if (!filters) return undefined;
  const names = { w: `${y}::w`, s: `${y}::s`, b: `${y}::b` };
  return {
    nodes: [
      {
        op: 'QuantConv',
        name: node.name,
        inputs: [x, names.w, names.s, names.b],
        outputs: [y],
        attrs: {
          ...conv,
          kernel_shape: [shape[2], shape[3]],
          activations: 'sign0',
          weights: filters.ternary ? 'ternary' : 'binary',
          output: 'float',
        },
      },
    ],
    initializers: [
      [names.w, float32(shape, filters.normalized)],
      [
        names.s,
        float32(
          [o],
          filters.alpha.map((a) => a * scale),
        ),
      ],
      [
        names.b,
        float32(
          [o],
          Float32Array.from({ length: o }, (_, k) => bias(k)),
        ),
      ],
    ],
  };
}

function convRewrite(g: Graph, n: GraphNode, x: string): Rewrite | undefined {
  const w = constantF32(g, n.inputs[1]);
  const b = n.inputs[2] ? constantF32(g, n.inputs[2]) : undefined;
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  if (
    w?.shape.length !== 4 ||
    (n.inputs[2] && b?.data.length !== w.shape[0]) ||
    attrNumber(n, 'group', 1) !== 1 ||
    (autoPad !== 'NOTSET' && autoPad !== 'VALID') ||
    n.attrs.activation !== undefined
  )
    return undefined;
  const conv = {
    strides: attrNumbers(n, 'strides') ?? [1, 1],
    pads: autoPad === 'VALID' ? [0, 0, 0, 0] : (attrNumbers(n, 'pads') ?? [0, 0, 0, 0]),
    dilations: attrNumbers(n, 'dilations') ?? [1, 1],
  };
  const shape = w.shape as [number, number, number, number];
  return signQuantConv(n, x, n.outputs[0]!, w.data as Float32Array, shape, conv, 1, (o) => b?.data[o] ?? 0);
}

/** Gemm or MatMul on a Sign of [N, K]: Reshape to [N, K, 1, 1], a 1×1 QuantConv, Reshape back to [N, M]. */
function denseRewrite(g: Graph, n: GraphNode, x: string): Rewrite | undefined {
  const gemm = n.op === 'Gemm';
  const b = constantF32(g, n.inputs[1]);
  if (b?.shape.length !== 2 || (gemm && attrNumber(n, 'transA', 0) !== 0)) return undefined;
  const transB = gemm && attrNumber(n, 'transB', 0) === 1;
  const [m, k] = transB ? [b.shape[0]!, b.shape[1]!] : [b.shape[1]!, b.shape[0]!];
  // a bias C broadcast per output (or one value for all); one that varies along N has no per-filter form
  const c = gemm && n.inputs[2] ? constantF32(g, n.inputs[2]) : undefined;
  if (
    gemm &&
    n.inputs[2] &&
    !(c && (c.data.length === 1 || c.data.length === m) && c.shape.slice(0, -1).every((d) => d === 1))
  )
    return undefined;
  const beta = attrNumber(n, 'beta', 1);
  const bias = (o: number) => (c ? beta * c.data[c.data.length === 1 ? 0 : o]! : 0);
  const bd = b.data as Float32Array;
  const w = transB
    ? bd
    : Float32Array.from({ length: m * k }, (_, i) => bd[(i % k) * m + Math.floor(i / k)]!);
  const y = n.outputs[0]!;
  const names = { x4: `${y}::nchw-in`, y4: `${y}::nchw`, in: `${y}::nchw-shape`, out: `${y}::nm-shape` };
  const q = signQuantConv(
    n,
    names.x4,
    names.y4,
    w,
    [m, k, 1, 1],
    {},
    gemm ? attrNumber(n, 'alpha', 1) : 1,
    bias,
  );
  if (!q) return undefined;
  // 0 copies the batch dimension, whatever it is at run time
  return {
    nodes: [
      { op: 'Reshape', name: `${n.name}::to-nchw`, inputs: [x, names.in], outputs: [names.x4], attrs: {} },
      ...q.nodes,
      { op: 'Reshape', name: `${n.name}::to-nm`, inputs: [names.y4, names.out], outputs: [y], attrs: {} },
    ],
    initializers: [...q.initializers, [names.in, int64([4], [0, k, 1, 1])], [names.out, int64([2], [0, m])]],
  };
}

/** Shapes of the graph's values, when every input dimension is known (as foldConstants infers them). */
function valueShapes(g: Graph): ((v: string) => readonly number[] | undefined) | undefined {
  if (!g.inputs.every((i) => i.shape.length > 0 && i.shape.every((d) => d > 0))) return undefined;
  const info = inferShapes(g);
  return (v) => info.get(v)?.shape;
}

/**
 * Binary and ternary layers of PyTorch-exported nets: Conv, Gemm or MatMul reading Sign(x), with each
 * filter's weights ±α (or ±α and 0), becomes a QuantConv on x with activations "sign0" (ONNX's Sign),
 * weights W/α and output α·acc + bias. The Sign stays while anything else reads it; anything that does
 * not match exactly (mixed magnitudes, weights computed at run time, groups) is left as it is.
 */
export function binarizeSignConvs(g: Graph): Graph {
  const signs = new Map(g.nodes.filter((n) => n.op === 'Sign').map((n) => [n.outputs[0]!, n]));
  let shapes: ReturnType<typeof valueShapes> | null = null;
  const rewrites = new Map<GraphNode, Rewrite>();
  for (const n of g.nodes) {
    const sign = signs.get(n.inputs[0] ?? '');
    if (!sign) continue;
    const x = sign.inputs[0]!;
    let r: Rewrite | undefined;
    if (n.op === 'Conv') r = convRewrite(g, n, x);
    else if (n.op === 'Gemm') r = denseRewrite(g, n, x);
    else if (n.op === 'MatMul') {
      // only a matrix: a batch of them would need its leading shape carried through the reshapes
      if (shapes === null) shapes = valueShapes(g);
      if (shapes?.(n.inputs[0]!)?.length === 2) r = denseRewrite(g, n, x);
    }
    if (r) rewrites.set(n, r);
  }
  if (rewrites.size === 0) return g;
  const initializers = new Map(g.initializers);
  for (const r of rewrites.values()) for (const [k, t] of r.initializers) initializers.set(k, t);
  const readers = readersOf(g);
  const nodes = g.nodes.flatMap((n) => {
    const r = rewrites.get(n);
    if (r) return r.nodes;
    const unread =
      n.op === 'Sign' && (readers.get(n.outputs[0]!) ?? []).every((m) => m !== 'output' && rewrites.has(m));
    return unread ? [] : [n];
  });
  return { ...g, nodes, initializers };
}

/** Levels of a quantizer that reads the folded value: codes 0..levels (sign: 0 is −1, 1 is +1). */
interface Quantizer {
  readonly levels: number;
  readonly code: (v: number) => number;
  /** Whether a value may be exactly 0 (ONNX Sign maps it to 0, which thresholds cannot give). */
  readonly zeroIsLevel: boolean;
  /** Whether a Clip to [lo, hi] in front of it changes no code. */
  readonly clipKeeps: (lo: number, hi: number) => boolean;
  /** The reader's activations once its input is the thresholded output. */
  readonly attrs: Record<string, AttributeValue>;
  /** The producer's output attributes. */
  readonly output: Record<string, AttributeValue>;
}

/** Whether a Clip (constant bounds) or Relu in front of quantizer `q` changes none of its codes. */
function clipKeeps(g: Graph, clip: GraphNode, q: Quantizer): boolean {
  if (clip.op === 'Relu') return q.clipKeeps(0, Number.POSITIVE_INFINITY);
  const bounds = clip.inputs.map((v) => constantF32(g, v));
  return clip.inputs.every((v, k) => k === 0 || !v || bounds[k]) && q.clipKeeps(...clipBounds(bounds));
}

function quantizerOf(reader: GraphNode): Quantizer | undefined {
  const activations = attrString(reader, 'activations', '');
  if (activations === 'sign' || activations === 'sign0') {
    return {
      levels: 1,
      code: (v) => (v < 0 ? 0 : 1),
      zeroIsLevel: activations === 'sign0',
      clipKeeps: (lo, hi) => lo < 0 && hi > 0,
      // ±1 read back: sign0 and sign agree on them, and "sign" is the form kept bit-packed
      attrs: { activations: 'sign' },
      output: { output: 'sign' },
    };
  }
  const k = attrNumber(reader, 'activation_bits', 0);
  if (activations === 'bits' && Number.isInteger(k) && k >= 1 && k <= MAX_QUANT_BITS) {
    return {
      levels: quantLevels(k),
      code: (v) => bitsCode(v, k),
      zeroIsLevel: false,
      clipKeeps: (lo, hi) => lo <= 0 && hi >= 1,
      attrs: {},
      output: { output: 'bits', output_bits: k },
    };
  }
  return undefined;
}

/** Largest |acc| of a QuantConv: taps per filter times the largest activation and weight codes. */
function accumulatorBound(qc: GraphNode, w: Tensor): number {
  const activations = attrString(qc, 'activations', '');
  const weights = attrString(qc, 'weights', '');
  const la = activations === 'bits' ? quantLevels(attrNumber(qc, 'activation_bits', 0)) : 1;
  const lw = weights === 'bits' ? quantLevels(attrNumber(qc, 'weight_bits', 0)) : 1;
  return (w.data.length / w.shape[0]!) * la * lw;
}

/** The smallest integer in [−r, r] where nondecreasing `holds` is true: −∞ when it holds at −r, +∞ when nowhere. */
function lowestInteger(r: number, holds: (acc: number) => boolean): number {
  if (holds(-r)) return Number.NEGATIVE_INFINITY;
  if (!holds(r)) return Number.POSITIVE_INFINITY;
  let [lo, hi] = [-r, r];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (holds(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Per channel, a float QuantConv's y = S·acc + B followed by batch norm, as scale and shift of y. */
interface ChannelAffine {
  readonly s: Float32Array;
  readonly b: Float32Array;
  readonly scale: Float32Array;
  readonly shift: Float32Array;
}

/**
 * The per-channel scale and shift of a BatchNormalization with constant parameters and one output,
 * and no activation fused after it (which the scale and shift would leave out).
 */
function constantBatchNorm(
  g: Graph,
  bn: GraphNode,
): { scale: Float32Array; shift: Float32Array } | undefined {
  const params = bn.inputs.slice(1, 5).map((i) => constantF32(g, i));
  if (
    params.length !== 4 ||
    params.some((p) => !p) ||
    usesBatchStatistics(bn) ||
    bn.outputs.filter((o) => o).length !== 1 ||
    bn.attrs.activation !== undefined
  )
    return undefined;
  const [gamma, beta, mean, variance] = params.map((p) => asFloat32(p!, 'BatchNormalization parameter'));
  return batchNormScaleShift(gamma!, beta!, mean!, variance!, attrNumber(bn, 'epsilon', 1e-5));
}

function channelAffine(g: Graph, qc: GraphNode, bn: GraphNode): ChannelAffine | undefined {
  const s = constantF32(g, qc.inputs[2]);
  const b = constantF32(g, qc.inputs[3]);
  const norm = constantBatchNorm(g, bn);
  if (!s || !b || !norm) return undefined;
  const { scale, shift } = norm;
  const all = [s.data, b.data, scale, shift];
  if (all.some((d) => d.length !== s.data.length || !d.every(Number.isFinite))) return undefined;
  return { s: s.data as Float32Array, b: b.data as Float32Array, scale, shift };
}

/**
 * Thresholds T [O, levels] on the accumulator reproducing quantizer(BN(S·acc + B)) as the CPU executor
 * rounds it (each step is monotone, so a binary search over the integer accumulator finds each step's
 * first value exactly), and which channels' weights to negate so that the code rises with acc.
 * Undefined when a value of exactly 0 can reach a Sign that maps it to 0, or when a MaxPool sits before
 * a BN of negative scale: that BN turns the max of y into the min of the codes.
 */
function thresholds(
  a: ChannelAffine,
  q: Quantizer,
  bound: number,
  pooled: boolean,
): { t: Tensor; flip: boolean[] } | undefined {
  if (pooled && a.scale.some((v) => v < 0)) return undefined;
  const o = a.s.length;
  const t = new Float32Array(o * q.levels);
  const flip: boolean[] = [];
  for (let c = 0; c < o; c++) {
    const [s, b, scale, shift] = [a.s[c]!, a.b[c]!, a.scale[c]!, a.shift[c]!];
    const dir = s * scale < 0 ? -1 : 1;
    flip.push(dir < 0);
    // QuantConv's float output (two f32 roundings), then BatchNormalization as the CPU executor rounds it
    const value = (acc: number) => Math.fround(Math.fround(Math.fround(s * dir * acc) + b) * scale + shift);
    for (let j = 1; j <= q.levels; j++)
      t[c * q.levels + j - 1] = lowestInteger(bound, (acc) => q.code(value(acc)) >= j);
    if (q.zeroIsLevel) {
      const first = Math.max(t[c]!, -bound);
      if (first <= bound && value(first) === 0) return undefined;
    }
  }
  return { t: float32([o, q.levels], t), flip };
}

/**
 * Batch norms after float-output QuantConvs, folded:
 * - QuantConv(float) → [MaxPool] → BatchNormalization → [Clip that changes no code] → QuantConv(sign,
 *   sign0 or bits k) becomes QuantConv(output sign / bits k, thresholds T) → [MaxPool] → QuantConv; a
 *   channel whose BN·S is negative gets its weights negated (the grids are symmetric), so that the
 *   code rises with acc. The max commutes with the codes when the BN scales are ≥ 0 (y rises with the
 *   code, whichever the sign of S): a MaxPool before a BN of negative scale keeps the chain as it is.
 * - QuantConv(float) → BatchNormalization otherwise: the BN goes into S and B.
 * Every intermediate value must be read only by the next node of the chain.
 */
export function foldQuantThresholds(g: Graph): Graph {
  const readers = readersOf(g);
  const sole = (v: string): GraphNode | undefined => {
    const r = readers.get(v);
    return r?.length === 1 && r[0] !== 'output' ? r[0] : undefined;
  };
  const nodes: (GraphNode | undefined)[] = [...g.nodes];
  const at = new Map(g.nodes.map((n, i) => [n, i]));
  // the current form of an original node (a reader may have been rewritten as the end of a chain)
  const current = (n: GraphNode | undefined) => (n ? nodes[at.get(n)!] : undefined);
  const initializers = new Map(g.initializers);
  const graph = { ...g, initializers };
  for (let i = 0; i < nodes.length; i++) {
    const qc = nodes[i];
    if (qc?.op !== 'QuantConv' || attrString(qc, 'output', '') !== 'float') continue;
    let next = sole(qc.outputs[0]!);
    const pool = next?.op === 'MaxPool' && next.outputs.filter((o) => o).length === 1 ? next : undefined;
    if (pool) next = sole(pool.outputs[0]!);
    const bn =
      next?.op === 'BatchNormalization' && next.inputs[0] === (pool ?? qc).outputs[0] ? next : undefined;
    const affine = bn && channelAffine(graph, qc, bn);
    if (!bn || !affine) continue;
    next = sole(bn.outputs[0]!);
    const clip = next?.op === 'Clip' || next?.op === 'Relu' ? next : undefined;
    const end = (clip ?? bn).outputs[0]!;
    const original = clip ? sole(end) : next;
    const reader = current(original);
    const q = reader?.op === 'QuantConv' && reader.inputs[0] === end ? quantizerOf(reader) : undefined;
    const w = constantF32(graph, qc.inputs[1]);
    const folded =
      q && w && (!clip || clipKeeps(graph, clip, q))
        ? thresholds(affine, q, accumulatorBound(qc, w), pool !== undefined)
        : undefined;
    if (folded && q && original && reader && w) {
      const per = w.data.length / w.shape[0]!;
      const names = { w: `${qc.outputs[0]}::w-folded`, t: `${qc.outputs[0]}::thresholds` };
      initializers.set(
        names.w,
        float32(
          w.shape,
          (w.data as Float32Array).map((v, k) => (folded.flip[Math.floor(k / per)] ? -v : v)),
        ),
      );
      initializers.set(names.t, folded.t);
      const attrs = { ...qc.attrs, ...q.output };
      nodes[i] = {
        ...qc,
        inputs: [qc.inputs[0]!, names.w, names.t],
        outputs: [pool ? qc.outputs[0]! : end],
        attrs,
      };
      if (pool) nodes[at.get(pool)!] = { ...pool, outputs: [end] };
      nodes[at.get(original)!] = { ...reader, attrs: { ...reader.attrs, ...q.attrs } };
      for (const n of [bn, clip]) if (n) nodes[at.get(n)!] = undefined;
    } else if (!pool) {
      const names = { s: `${qc.outputs[0]}::s-bn`, b: `${qc.outputs[0]}::b-bn` };
      const { s, b, scale, shift } = affine;
      initializers.set(
        names.s,
        float32(
          [s.length],
          s.map((v, c) => v * scale[c]!),
        ),
      );
      initializers.set(
        names.b,
        float32(
          [b.length],
          b.map((v, c) => v * scale[c]! + shift[c]!),
        ),
      );
      nodes[i] = {
        ...qc,
        inputs: [qc.inputs[0]!, qc.inputs[1]!, names.s, names.b],
        outputs: [bn.outputs[0]!],
      };
      nodes[at.get(bn)!] = undefined;
    }
  }
  return { ...graph, nodes: nodes.filter((n): n is GraphNode => n !== undefined) };
}

const isFloatQuantConv = (n: GraphNode) =>
  n.op === 'QuantConv' && attrString(n, 'output', '') === 'float' && n.outputs.length === 1;

/**
 * Bi-Real blocks' epilogues fused into their float QuantConvs, so that a block is one GPU dispatch:
 * - QuantConv(float) → Add(Y, R), with Y read by the Add alone and R of Y's shape (no broadcast),
 *   becomes QuantConv(X, W, S, B, R) giving the sum in the Add's place (f32 addition is commutative,
 *   so the sum is the Add's whichever side Y was on);
 * - a float QuantConv whose Y QuantConvs with "sign" activations read gets Sign(Y) as a first output,
 *   and those readers read it instead: the sign of ±1 is itself, and on the GPU the conv writes it
 *   bit-packed, so no pack runs between binary layers. "sign0" readers keep Y (their Sign(0) is 0).
 * Residuals are fused only where every input dimension is known, to tell a broadcast apart.
 */
export function fuseQuantEpilogues(g: Graph): Graph {
  if (!g.nodes.some(isFloatQuantConv)) return g;
  const shapes = valueShapes(g);
  const nodes: (GraphNode | undefined)[] = [...g.nodes];
  if (shapes) {
    const readers = readersOf(g);
    const at = new Map(g.nodes.map((n, i) => [n, i]));
    g.nodes.forEach((qc, i) => {
      if (!isFloatQuantConv(qc) || qc.inputs.length !== 4) return;
      const y = qc.outputs[0]!;
      const r = readers.get(y);
      const add = r?.length === 1 && r[0] !== 'output' ? r[0] : undefined;
      if (add?.op !== 'Add' || add.attrs.activation !== undefined || add.inputs.length !== 2) return;
      const other = add.inputs[0] === y ? add.inputs[1]! : add.inputs[0]!;
      const [ys, rs] = [shapes(y), shapes(other)];
      if (other === y || !ys || rs?.join() !== ys.join()) return;
      // in the Add's place: R may be computed after the conv
      nodes[i] = undefined;
      nodes[at.get(add)!] = { ...qc, inputs: [...qc.inputs, other], outputs: [add.outputs[0]!] };
    });
  }
  const fused = nodes.filter((n): n is GraphNode => n !== undefined);
  const signReader = (n: GraphNode) => n.op === 'QuantConv' && attrString(n, 'activations', '') === 'sign';
  const signRead = new Set(fused.filter(signReader).map((n) => n.inputs[0]!));
  const signed = new Set(fused.filter((n) => isFloatQuantConv(n) && signRead.has(n.outputs[0]!)));
  const signOf = new Map([...signed].map((n) => [n.outputs[0]!, `${n.outputs[0]}::sign`]));
  return {
    ...g,
    nodes: fused.map((n) => {
      const sign = signReader(n) ? signOf.get(n.inputs[0]!) : undefined;
      const inputs = sign ? [sign, ...n.inputs.slice(1)] : n.inputs;
      const outputs = signed.has(n) ? [signOf.get(n.outputs[0]!)!, n.outputs[0]!] : n.outputs;
      return inputs === n.inputs && outputs === n.outputs ? n : { ...n, inputs, outputs };
    }),
  };
}

/** f32 values in order, as integers: −∞ … −0 +0 … +∞ (NaN excluded). */
const F32_ORDER = { lo: -0x7f800000 - 1, hi: 0x7f800000 };
const orderView = new DataView(new ArrayBuffer(4));
function f32AtOrder(k: number): number {
  orderView.setInt32(0, k >= 0 ? k : -1 - k + -0x80000000);
  return orderView.getFloat32(0);
}

/**
 * The sign of one channel's batch norm as the CPU executor rounds it, fround(x·scale + shift) < 0, in
 * the exact form d·(x − t) < 0: d = +1 (negative below t), −1 (negative above t), or 0 with e = shift
 * (scale 0: the constant's sign, NaN for an infinite x as the BN gives). Returns [d, e = −d·t].
 */
function signOfBatchNorm(scale: number, shift: number): [number, number] {
  if (scale === 0) return [0, shift];
  const bn = (x: number) => Math.fround(x * scale + shift);
  // the first (scale > 0) or last (scale < 0) f32 in order whose BN is ≥ 0: BN is monotone in x
  const up = scale > 0;
  const holds = (k: number) => bn(f32AtOrder(k)) >= 0 === up;
  let [lo, hi] = [F32_ORDER.lo, F32_ORDER.hi];
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (holds(mid)) hi = mid;
    else lo = mid;
  }
  // scale > 0: BN(x) ≥ 0 ⟺ x ≥ t; scale < 0: BN(x) < 0 ⟺ x > t
  const t = f32AtOrder(up ? hi : lo);
  return up ? [1, -t] : [-1, t];
}

/**
 * A batch norm read only by QuantConvs with "sign" activations, folded into their packing: the sign
 * of BN(x) is the sign of d·x + e per channel with d ∈ {−1, 0, +1} (attributes input_scale and
 * input_shift), exact in f32 whichever way the GPU rounds it, so no channel-affine pass runs before
 * the pack. Exact against the CPU executor's BN rounding, NaN and infinities included.
 */
export function foldSignInputs(g: Graph): Graph {
  const readers = readersOf(g);
  const signReader = (r: GraphNode | 'output') =>
    r !== 'output' &&
    r.op === 'QuantConv' &&
    attrString(r, 'activations', '') === 'sign' &&
    r.attrs.input_scale === undefined;
  const folds = new Map<GraphNode, { x: string; attrs: Record<string, AttributeValue> }>();
  const dropped = new Set<GraphNode>();
  for (const bn of g.nodes) {
    if (bn.op !== 'BatchNormalization' || bn.outputs.filter((o) => o).length !== 1) continue;
    const r = readers.get(bn.outputs[0]!) ?? [];
    if (r.length === 0 || !r.every(signReader)) continue;
    const norm = constantBatchNorm(g, bn);
    if (!norm) continue;
    const { scale, shift } = norm;
    if (![...scale, ...shift].every(Number.isFinite)) continue;
    const signs = Array.from(scale, (s, c) => signOfBatchNorm(s, shift[c]!));
    const attrs = { input_scale: signs.map(([d]) => d), input_shift: signs.map(([, e]) => e) };
    for (const q of r as GraphNode[]) folds.set(q, { x: bn.inputs[0]!, attrs });
    dropped.add(bn);
  }
  if (dropped.size === 0) return g;
  return {
    ...g,
    nodes: g.nodes.flatMap((n) => {
      if (dropped.has(n)) return [];
      const f = folds.get(n);
      return f ? [{ ...n, inputs: [f.x, ...n.inputs.slice(1)], attrs: { ...n.attrs, ...f.attrs } }] : [n];
    }),
  };
}
