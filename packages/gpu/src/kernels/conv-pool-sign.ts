import type { Gpu, Program } from '../device.js';
import { GpuError } from '../errors.js';
import type { ConvGeometry } from '../geometry.js';
import { grid, type Recorder } from '../recorder.js';
import type { GpuTensor } from '../tensor.js';
import {
  type Activation,
  activationFn,
  bindings,
  checkActivation,
  u,
  windowLiterals,
  windowLoop,
} from '../wgsl.js';
import type { BitPoolGeometry } from './bit-pool.js';
import { packedShape } from './pack-bits.js';

/*
 * A float first layer in front of a binary network, in one dispatch: conv (+ bias, activation), max
 * pool, then the sign of d·y + e per channel (a batch norm folded by foldSignInputs), written as
 * packed sign bits that the next binary layer reads as they are. Separately these are three passes
 * over the conv's full-size float output; here it never leaves registers.
 *
 * The max is never formed: with d ∈ {−1, 0, +1} the sign of d·max + e is decided tap by tap. For
 * d = +1, max + e < 0 ⟺ every tap y has y + e < 0; for d = −1, e − max < 0 ⟺ some tap has e − y < 0;
 * for d = 0 every tap gives e's sign. (Each is exact in f32: rounding a sum keeps its sign, and the
 * sum of two f32 values is 0 only when it is exactly 0.) So each thread computes one pool tap's conv
 * output and its bits, and the taps meet in workgroup words by atomicAnd (d = +1) and atomicOr
 * (d = −1): a thread's serial work is one conv window, not the pool's taps times it, and the chain of
 * dependent loads that bounds this small layer's time is that much shorter.
 *
 * Work split: a workgroup covers `positions` pooled positions × every pool tap × one output word
 * (32 channels), as 4 thread groups of 8 channels (two vec4 accumulators, so each input value is
 * loaded once per 8 channels and the weights are vec4 broadcasts).
 */

const THREADS = 256;
const GROUPS = 4;
/** Channels per thread: two vec4 accumulators. */
const CHANNELS = 32 / GROUPS;

export interface ConvPoolSignKernel {
  /** The conv, one group. */
  readonly conv: ConvGeometry;
  /** The max pool over the conv's output ([N, O, ho, wo]). */
  readonly pool: BitPoolGeometry;
  readonly activation: Activation;
}

/** Threads per pooled position and thread group: one per pool tap, up to a workgroup's worth. */
const tapThreads = (p: BitPoolGeometry) => Math.min(p.kh * p.kw, THREADS / GROUPS);

/** Pooled positions per workgroup: as many as fill {@link THREADS}. */
const positionsPer = (p: BitPoolGeometry) => Math.floor(THREADS / (GROUPS * tapThreads(p)));

const CONV_POOL_SIGN: Program<ConvPoolSignKernel> = {
  name: 'conv-pool-sign',
  wgsl: ({ conv: g, pool: p, activation }) => {
    const words = Math.ceil(g.o / 32);
    const total = p.n * p.ho * p.wo;
    const positions = positionsPer(p);
    const taps = tapThreads(p);
    const win = windowLiterals(p);
    const s = (words * 32) / 4;
    return /* wgsl */ `
${bindings([
  ['x', 'array<f32>', 'read'],
  ['wt', 'array<vec4f>', 'read'],
  ['prm', 'array<vec4f>', 'read'],
  ['y', 'array<u32>', 'read_write'],
])}
${activationFn(activation)}
fn act4(v: vec4f) -> vec4f { return vec4f(act(v.x), act(v.y), act(v.z), act(v.w)); }
fn mask4(m: vec4<bool>) -> u32 {
  let b = select(vec4u(0u), vec4u(1u, 2u, 4u, 8u), m);
  return b.x | b.y | b.z | b.w;
}
fn neg4(v: vec4f) -> u32 { return mask4(v < vec4f(0.0)); }
// per position: the bits negative at every tap (d = +1 channels) and at some tap (d = −1)
var<workgroup> every: array<atomic<u32>, ${positions}>;
var<workgroup> some: array<atomic<u32>, ${positions}>;
@compute @workgroup_size(${positions * taps * GROUPS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let wg = wid.x + wid.y * nwg.x;
  let wd = wg % ${u(words)};
  let slot = li % ${u(positions)};
  let tap = (li / ${u(positions)}) % ${u(taps)};
  let grp = li / ${u(positions * taps)};
  let e = (wg / ${u(words)}) * ${u(positions)} + slot;
  // vec4 index of this thread's 8 channels: weights [word][k][32], parameters [bias, scale, shift][O padded]
  let ch = wd * ${u(32 / 4)} + grp * ${u(CHANNELS / 4)};
  if (li < ${u(positions)}) {
    atomicStore(&every[li], 0xffffffffu);
    atomicStore(&some[li], 0u);
  }
  workgroupBarrier();
  let n = e / ${u(p.ho * p.wo)};
  let py = (e / ${u(p.wo)}) % ${u(p.ho)};
  let px = e % ${u(p.wo)};
  // the pool taps this thread takes: every ${taps}th, each a conv output if inside the conv's output
  for (var t = tap; t < ${u(p.kh * p.kw)}; t += ${u(taps)}) {
    let sy = i32(py * ${win.sh} + (t / ${win.kw}) * ${win.dh}) - ${win.pt};
    let sx = i32(px * ${win.sw} + (t % ${win.kw}) * ${win.dw}) - ${win.pl};
    if (e < ${u(total)} && sy >= 0 && sy < ${win.h} && sx >= 0 && sx < ${win.w}) {
      let cy = u32(sy);
      let cx = u32(sx);
      var a0 = prm[ch];
      var a1 = prm[ch + 1u];
      for (var c = 0u; c < ${u(g.c)}; c++) {
        ${windowLoop(
          windowLiterals(g),
          'cy',
          'cx',
          `let xv = x[((n * ${u(g.c)} + c) * ${u(g.h)} + iy) * ${u(g.w)} + ix];
          let k = (wd * ${u(g.k)} + (c * ${u(g.kh)} + ky) * ${u(g.kw)} + kx) * ${u(32 / 4)} + grp * ${u(CHANNELS / 4)};
          a0 += xv * wt[k];
          a1 += xv * wt[k + 1u];`,
        )}
      }
      // padding channels have d = e = 0 and stay 0 bits
      let shift = grp * ${u(CHANNELS)};
      let bits = (neg4(prm[${u(s)} + ch] * act4(a0) + prm[${u(2 * s)} + ch]) | (neg4(prm[${u(s)} + ch + 1u] * act4(a1) + prm[${u(2 * s)} + ch + 1u]) << 4u)) << shift;
      atomicAnd(&every[slot], bits | ~(0xffu << shift));
      atomicOr(&some[slot], bits);
    }
  }
  workgroupBarrier();
  if (li < ${u(positions)} && e < ${u(total)}) {
    // d = 0 channels give the same bit at every tap: either word holds it
    var plus = 0u;
    for (var j = 0u; j < ${u(32 / 4)}; j++) {
      plus |= mask4(prm[${u(s)} + wd * ${u(32 / 4)} + j] > vec4f(0.0)) << (4u * j);
    }
    y[e * ${u(words)} + wd] = (atomicLoad(&every[li]) & plus) | (atomicLoad(&some[li]) & ~plus);
  }
}`;
  },
};

/** The per-channel sign map d·y + e: d each −1, 0 or +1 (see foldSignInputs in the runtime). */
export interface SignAffine {
  readonly scale: ArrayLike<number>;
  readonly shift: ArrayLike<number>;
}

/**
 * A conv, max pool and per-channel sign whose weights and parameters live on the GPU: `encode` records
 * one dispatch from f32 NCHW input to the packed sign plane ({@link packedShape} of the pooled shape,
 * encoding "sign": bit 1 where d·y + e < 0).
 */
export class ConvPoolSignLayer {
  private readonly w: GpuTensor;
  private readonly params: GpuTensor;

  /** `weights` [O, C, kh, kw]; `bias` [O] or none; `sign` [O] each (d = 1, e = 0 when left out). */
  constructor(
    private readonly gpu: Gpu,
    weights: ArrayLike<number>,
    readonly weightShape: readonly [number, number, number, number],
    bias: ArrayLike<number> | undefined,
    sign: SignAffine | undefined,
    readonly activation: Activation = 'none',
  ) {
    checkActivation(activation);
    const [o, c, kh, kw] = weightShape;
    const k = c * kh * kw;
    const words = Math.ceil(o / 32);
    const lengths = [bias?.length ?? o, sign?.scale.length ?? o, sign?.shift.length ?? o];
    if (weights.length !== o * k || lengths.some((l) => l !== o))
      throw new GpuError(
        'invalid-argument',
        `a conv-pool-sign layer of [${weightShape.join(', ')}] takes ${o * k} weights and ${o} biases, scales and shifts, got ${weights.length} and ${lengths.join(', ')}.`,
      );
    if (sign && !Array.from(sign.scale).every((d) => d === -1 || d === 0 || d === 1))
      throw new GpuError('invalid-argument', 'the sign map scales d must each be −1, 0 or +1.');
    // [word][k][32 channels], zero for padding channels, so that a thread's 8 channels are two vec4s
    const wt = new Float32Array(words * k * 32);
    for (let oc = 0; oc < o; oc++)
      for (let j = 0; j < k; j++) wt[(Math.floor(oc / 32) * k + j) * 32 + (oc % 32)] = weights[oc * k + j]!;
    const padded = words * 32;
    const params = new Float32Array(3 * padded);
    for (let oc = 0; oc < o; oc++) {
      params[oc] = bias?.[oc] ?? 0;
      params[padded + oc] = sign?.scale[oc] ?? 1;
      params[2 * padded + oc] = sign?.shift[oc] ?? 0;
    }
    this.w = gpu.tensor([wt.length], wt);
    this.params = gpu.tensor([params.length], params);
  }

  /** Records the layer on f32 NCHW `x` of `conv`'s input shape; returns the packed sign plane (from the pool). */
  encode(r: Recorder, x: GpuTensor, conv: ConvGeometry, pool: BitPoolGeometry): GpuTensor {
    const [o, c, kh, kw] = this.weightShape;
    if (
      conv.groups !== 1 ||
      conv.o !== o ||
      conv.c !== c ||
      conv.kh !== kh ||
      conv.kw !== kw ||
      x.dtype !== 'f32' ||
      x.size !== conv.n * c * conv.h * conv.w ||
      pool.n !== conv.n ||
      pool.c !== o ||
      pool.h !== conv.ho ||
      pool.w !== conv.wo
    )
      throw new GpuError(
        'invalid-argument',
        `a conv-pool-sign layer of [${this.weightShape.join(', ')}] does not fit input [${x.shape.join(', ')}] with a ${conv.groups}-group ${conv.o}×${conv.c}×${conv.kh}×${conv.kw} conv to ${conv.ho}×${conv.wo} and a pool of ${pool.h}×${pool.w}; derive both geometries from the input's shape.`,
      );
    const y = this.gpu.empty(packedShape([pool.n, o, pool.ho, pool.wo], { mode: 'sign' }), 'u32');
    const groups = Math.ceil(o / 32) * Math.ceil((pool.n * pool.ho * pool.wo) / positionsPer(pool));
    r.dispatch(
      'conv-pool-sign',
      this.gpu.pipeline(CONV_POOL_SIGN, { conv, pool, activation: this.activation }),
      [x, this.w, this.params, y],
      grid(groups, this.gpu.limits.maxComputeWorkgroupsPerDimension),
    );
    return y;
  }

  destroy(): void {
    this.gpu.release(this.w);
    this.gpu.release(this.params);
  }
}
