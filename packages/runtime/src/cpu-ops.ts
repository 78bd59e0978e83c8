import {
  type Activation,
  applyActivation,
  binaryReference,
  convGeometry,
  poolOutput,
  poolReference,
  softmaxReference,
  transposeReference,
} from '@zeroskip/gpu';
import { RuntimeError } from './errors.js';
import { attrNumber, attrNumbers, attrString, type GraphNode } from './graph.js';
import {
  axesOf,
  flattenShape,
  isTensorAttr,
  normAxis,
  reshapeShape,
  shapeSlice,
  squeezeShape,
  unsqueezeShape,
  window2d,
} from './shapes.js';
import { asFloat32, float32, int64, numbers, sizeOf, type Tensor, tensor } from './tensor.js';

type Op = (node: GraphNode, inputs: (Tensor | undefined)[]) => Tensor[];

function need(node: GraphNode, inputs: (Tensor | undefined)[], i: number): Tensor {
  const t = inputs[i];
  if (!t) throw new RuntimeError('invalid-model', `node '${node.name}' (${node.op}) needs input ${i}.`);
  return t;
}

function strides(shape: readonly number[]): number[] {
  return shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
}

/** Direct 2-D convolution: for each weight, one multiply-add over a whole output row (cache-friendly). */
function conv(node: GraphNode, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const w = need(node, inputs, 1);
  const b = inputs[2];
  const win = window2d(node, x.shape, attrNumbers(node, 'kernel_shape') ?? w.shape.slice(2));
  const geo = convGeometry(x.shape, w.shape, {
    stride: win.stride,
    pads: win.pads,
    dilation: win.dilation,
    groups: attrNumber(node, 'group', 1),
  });
  const xd = asFloat32(x, 'Conv input');
  const wd = asFloat32(w, 'Conv weights');
  const bd = b ? asFloat32(b, 'Conv bias') : undefined;
  const y = new Float32Array(geo.n * geo.o * geo.ho * geo.wo);
  const act = (node.attrs.activation as Activation | undefined) ?? 'none';
  for (let n = 0; n < geo.n; n++) {
    for (let o = 0; o < geo.o; o++) {
      const out = y.subarray((n * geo.o + o) * geo.ho * geo.wo, (n * geo.o + o + 1) * geo.ho * geo.wo);
      out.fill(bd?.[o] ?? 0);
      const grp = Math.floor(o / geo.og);
      for (let c = 0; c < geo.cg; c++) {
        const xc = (n * geo.c + grp * geo.cg + c) * geo.h * geo.w;
        for (let ky = 0; ky < geo.kh; ky++) {
          for (let kx = 0; kx < geo.kw; kx++) {
            const wv = wd[((o * geo.cg + c) * geo.kh + ky) * geo.kw + kx]!;
            if (wv === 0) continue;
            const dx = kx * geo.dw - geo.pl;
            const oxLo = Math.max(0, Math.ceil(-dx / geo.sw));
            const oxHi = Math.min(geo.wo, Math.floor((geo.w - 1 - dx) / geo.sw) + 1);
            for (let oy = 0; oy < geo.ho; oy++) {
              const iy = oy * geo.sh + ky * geo.dh - geo.pt;
              if (iy < 0 || iy >= geo.h) continue;
              const row = xc + iy * geo.w + dx;
              const orow = oy * geo.wo;
              for (let ox = oxLo; ox < oxHi; ox++) out[orow + ox]! += wv * xd[row + ox * geo.sw]!;
            }
          }
        }
      }
      if (act !== 'none') for (let i = 0; i < out.length; i++) out[i] = applyActivation(out[i]!, act);
    }
  }
  return [float32([geo.n, geo.o, geo.ho, geo.wo], y)];
}

/** C[m, n] = Σ A[m, k]·B[k, n] with strides, so transposes cost nothing. */
function matmul(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  aT: boolean,
  bT: boolean,
  out: Float32Array,
  outOffset = 0,
  alpha = 1,
): void {
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const av = alpha * a[aT ? p * m + i : i * k + p]!;
      if (av === 0) continue;
      const o = outOffset + i * n;
      if (bT) for (let j = 0; j < n; j++) out[o + j]! += av * b[j * k + p]!;
      else {
        const r = p * n;
        for (let j = 0; j < n; j++) out[o + j]! += av * b[r + j]!;
      }
    }
  }
}

function gemm(node: GraphNode, inputs: (Tensor | undefined)[]): Tensor[] {
  const a = need(node, inputs, 0);
  const b = need(node, inputs, 1);
  const aT = attrNumber(node, 'transA', 0) === 1;
  const bT = attrNumber(node, 'transB', 0) === 1;
  const [m, k] = aT ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const n = bT ? b.shape[0]! : b.shape[1]!;
  if ((bT ? b.shape[1] : b.shape[0]) !== k)
    throw new RuntimeError(
      'invalid-input',
      `Gemm '${node.name}': [${a.shape}] and [${b.shape}] do not multiply.`,
    );
  const y = new Float32Array(m * n);
  const c = inputs[2];
  if (c) {
    const beta = attrNumber(node, 'beta', 1);
    const bc = binaryReference(
      new Float32Array(m * n),
      [m, n],
      asFloat32(c, 'Gemm C'),
      c.shape,
      (_z, v) => beta * v,
    ).data;
    y.set(bc);
  }
  matmul(asFloat32(a, 'Gemm A'), asFloat32(b, 'Gemm B'), m, k, n, aT, bT, y, 0, attrNumber(node, 'alpha', 1));
  const act = (node.attrs.activation as Activation | undefined) ?? 'none';
  if (act !== 'none') for (let i = 0; i < y.length; i++) y[i] = applyActivation(y[i]!, act);
  return [float32([m, n], y)];
}

function matMul(node: GraphNode, inputs: (Tensor | undefined)[]): Tensor[] {
  const a = need(node, inputs, 0);
  const b = need(node, inputs, 1);
  const as = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  const [m, k] = as.slice(-2) as [number, number];
  const [k2, n] = bs.slice(-2) as [number, number];
  if (k !== k2)
    throw new RuntimeError(
      'invalid-input',
      `MatMul '${node.name}': [${a.shape}] and [${b.shape}] do not multiply.`,
    );
  const batchA = as.slice(0, -2);
  const batchB = bs.slice(0, -2);
  // broadcast the batch dimensions by indexing a batch-shaped map of matrix numbers
  const ia = binaryReference(
    Float64Array.from({ length: sizeOf(batchA) }, (_, i) => i),
    batchA,
    new Float64Array(sizeOf(batchB)),
    batchB,
    (x) => x,
    'float64',
  );
  const ib = binaryReference(
    new Float64Array(sizeOf(batchA)),
    batchA,
    Float64Array.from({ length: sizeOf(batchB) }, (_, i) => i),
    batchB,
    (_x, y) => y,
    'float64',
  );
  const batches = ia.data.length;
  const y = new Float32Array(batches * m * n);
  const ad = asFloat32(a, 'MatMul A');
  const bd = asFloat32(b, 'MatMul B');
  for (let t = 0; t < batches; t++)
    matmul(
      ad.subarray(ia.data[t]! * m * k),
      bd.subarray(ib.data[t]! * k * n),
      m,
      k,
      n,
      false,
      false,
      y,
      t * m * n,
    );
  const shape = [...ia.shape, ...(a.shape.length === 1 ? [] : [m]), ...(b.shape.length === 1 ? [] : [n])];
  return [float32(shape, y)];
}

function unary(f: (v: number) => number): Op {
  return (node, inputs) => {
    const x = need(node, inputs, 0);
    return [float32(x.shape, asFloat32(x, node.op).map(f))];
  };
}

/** Clip's bounds: inputs 1 and 2 from opset 11, attributes before. */
export function clipBounds(node: GraphNode, inputs: (Tensor | undefined)[]): [number, number] {
  const lo = inputs[1] ? inputs[1].data[0]! : attrNumber(node, 'min', Number.NEGATIVE_INFINITY);
  const hi = inputs[2] ? inputs[2].data[0]! : attrNumber(node, 'max', Number.POSITIVE_INFINITY);
  return [lo, hi];
}

function pool(kind: 'max' | 'avg'): Op {
  return (node, inputs) => {
    const x = need(node, inputs, 0);
    const win = window2d(node, x.shape, attrNumbers(node, 'kernel_shape') ?? []);
    const ceil = attrNumber(node, 'ceil_mode', 0) === 1;
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const ho = poolOutput(h, win.kernel[0], win.stride[0], win.pads[0], win.pads[2], win.dilation[0], ceil);
    const wo = poolOutput(w, win.kernel[1], win.stride[1], win.pads[1], win.pads[3], win.dilation[1], ceil);
    const y = poolReference(
      asFloat32(x, node.op),
      [n, c, h, w],
      kind,
      win.kernel,
      win.stride,
      win.pads,
      win.dilation,
      ho,
      wo,
      attrNumber(node, 'count_include_pad', 0) === 1,
    );
    return [float32([n, c, ho, wo], y)];
  };
}

function binary(f: (a: number, b: number) => number): Op {
  return (node, inputs) => {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    const exact = a.dtype === 'int64' && b.dtype === 'int64';
    const r = binaryReference(
      a.data,
      a.shape,
      b.data,
      b.shape,
      exact && node.op === 'Div' ? (x, y) => Math.trunc(x / y) : f,
      exact ? 'float64' : 'float32',
    );
    return [tensor(exact ? 'int64' : 'float32', r.shape, r.data)];
  };
}

/** Copies a strided window of `x`: starts, steps and sizes per axis. */
function sliceCopy(x: Tensor, starts: number[], steps: number[], sizes: number[]): Tensor {
  const st = strides(x.shape);
  const outStrides = strides(sizes);
  const data = new (x.data.constructor as Float32ArrayConstructor)(sizeOf(sizes));
  for (let e = 0; e < data.length; e++) {
    let src = 0;
    for (let d = 0; d < sizes.length; d++)
      src += (starts[d]! + (Math.floor(e / outStrides[d]!) % sizes[d]!) * steps[d]!) * st[d]!;
    data[e] = x.data[src]!;
  }
  return tensor(x.dtype, sizes, data);
}

/** Slice's window per axis (starts, steps, sizes), from its inputs (opset 10+) or attributes; shared with the GPU. */
export function sliceWindow(
  node: GraphNode,
  shape: readonly number[],
  inputs: (Tensor | undefined)[],
): { starts: number[]; steps: number[]; sizes: number[] } {
  const rank = shape.length;
  const startsIn = inputs[1] ? numbers(inputs[1]) : (attrNumbers(node, 'starts') ?? []);
  const endsIn = inputs[2] ? numbers(inputs[2]) : (attrNumbers(node, 'ends') ?? []);
  const axes = (
    inputs[3] ? numbers(inputs[3]) : (attrNumbers(node, 'axes') ?? startsIn.map((_, i) => i))
  ).map((a) => normAxis(a, rank, node));
  const stepsIn = inputs[4] ? numbers(inputs[4]) : axes.map(() => 1);
  const starts = shape.map(() => 0);
  const steps = shape.map(() => 1);
  const sizes = [...shape];
  axes.forEach((a, i) => {
    const dim = shape[a]!;
    const step = stepsIn[i]!;
    if (step === 0) throw new RuntimeError('invalid-input', `Slice '${node.name}' has step 0.`);
    const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    const s = step > 0 ? clampIdx(startsIn[i]!, 0, dim) : clampIdx(startsIn[i]!, -1, dim - 1);
    const e = step > 0 ? clampIdx(endsIn[i]!, 0, dim) : clampIdx(endsIn[i]!, -1, dim - 1);
    starts[a] = s;
    steps[a] = step;
    sizes[a] = Math.max(0, Math.ceil((e - s) / step));
  });
  return { starts, steps, sizes };
}

function slice(node: GraphNode, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const w = sliceWindow(node, x.shape, inputs);
  return [sliceCopy(x, w.starts, w.steps, w.sizes)];
}

/** Split's part sizes along its axis: given (input or attribute) or equal parts. */
export function splitSizes(
  node: GraphNode,
  shape: readonly number[],
  inputs: (Tensor | undefined)[],
): { axis: number; sizes: number[] } {
  const axis = normAxis(attrNumber(node, 'axis', 0), shape.length, node);
  const dim = shape[axis]!;
  const parts = node.outputs.length;
  const given = inputs[1] ? numbers(inputs[1]) : attrNumbers(node, 'split');
  const sizes =
    given ??
    Array.from({ length: parts }, (_, i) =>
      Math.min(Math.ceil(dim / parts), Math.max(0, dim - i * Math.ceil(dim / parts))),
    );
  if (sizes.reduce((a, b) => a + b, 0) !== dim)
    throw new RuntimeError('invalid-input', `Split '${node.name}' sizes [${sizes}] do not add up to ${dim}.`);
  return { axis, sizes };
}

function split(node: GraphNode, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const { axis, sizes } = splitSizes(node, x.shape, inputs);
  let at = 0;
  return sizes.map((s) => {
    const starts = x.shape.map((_, d) => (d === axis ? at : 0));
    at += s;
    return sliceCopy(
      x,
      starts,
      x.shape.map(() => 1),
      x.shape.map((d, i) => (i === axis ? s : d)),
    );
  });
}

function gather(node: GraphNode, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const idx = need(node, inputs, 1);
  const axis = normAxis(attrNumber(node, 'axis', 0), x.shape.length, node);
  const dim = x.shape[axis]!;
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const ids = numbers(idx).map((i) => {
    const j = i < 0 ? i + dim : i;
    if (!(j >= 0 && j < dim))
      throw new RuntimeError(
        'invalid-input',
        `Gather '${node.name}' index ${i} is out of range for size ${dim}.`,
      );
    return j;
  });
  const data = new (x.data.constructor as Float32ArrayConstructor)(outer * ids.length * inner);
  for (let o = 0; o < outer; o++) {
    for (const [k, j] of ids.entries()) {
      data.set(
        x.data.subarray((o * dim + j) * inner, (o * dim + j + 1) * inner) as Float32Array,
        (o * ids.length + k) * inner,
      );
    }
  }
  return [tensor(x.dtype, [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)], data)];
}

function reduceMean(node: GraphNode, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const rank = x.shape.length;
  const axes = new Set(
    (axesOf(node, inputs[1] ? numbers(inputs[1]) : undefined) ?? x.shape.map((_, i) => i)).map((a) =>
      normAxis(a, rank, node),
    ),
  );
  const keep = attrNumber(node, 'keepdims', 1) === 1;
  const kept = x.shape.map((d, i) => (axes.has(i) ? 1 : d));
  const y = new Float32Array(sizeOf(kept));
  const sx = strides(x.shape);
  const sk = strides(kept);
  const xd = asFloat32(x, 'ReduceMean input');
  for (let e = 0; e < xd.length; e++) {
    let o = 0;
    for (let d = 0; d < rank; d++) if (!axes.has(d)) o += (Math.floor(e / sx[d]!) % x.shape[d]!) * sk[d]!;
    y[o]! += xd[e]!;
  }
  const count = xd.length / Math.max(y.length, 1);
  return [
    float32(
      keep ? kept : x.shape.filter((_, i) => !axes.has(i)),
      y.map((v) => v / count),
    ),
  ];
}

function pad(node: GraphNode, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = need(node, inputs, 0);
  const rank = x.shape.length;
  const pads = inputs[1] ? numbers(inputs[1]) : (attrNumbers(node, 'pads') ?? []);
  const value = inputs[2] ? inputs[2].data[0]! : attrNumber(node, 'value', 0);
  const mode = attrString(node, 'mode', 'constant');
  const axes = inputs[3] ? numbers(inputs[3]).map((a) => normAxis(a, rank, node)) : x.shape.map((_, i) => i);
  const before = x.shape.map(() => 0);
  const after = x.shape.map(() => 0);
  axes.forEach((a, i) => {
    before[a] = pads[i]!;
    after[a] = pads[i + axes.length]!;
  });
  const shape = x.shape.map((d, i) => d + before[i]! + after[i]!);
  const so = strides(shape);
  const si = strides(x.shape);
  const data = new Float32Array(sizeOf(shape));
  for (let e = 0; e < data.length; e++) {
    let src = 0;
    let inside = true;
    for (let d = 0; d < rank; d++) {
      let i = (Math.floor(e / so[d]!) % shape[d]!) - before[d]!;
      const n = x.shape[d]!;
      if (i < 0 || i >= n) {
        if (mode === 'constant') inside = false;
        else if (mode === 'edge') i = Math.min(Math.max(i, 0), n - 1);
        else if (mode === 'reflect') i = i < 0 ? -i : 2 * (n - 1) - i;
        else
          throw new RuntimeError(
            'unsupported-op',
            `Pad mode '${mode}' (node '${node.name}') is not supported; use constant, edge or reflect.`,
          );
      }
      src += i * si[d]!;
    }
    data[e] = inside ? (x.data[src] as number) : value;
  }
  return [float32(shape, data)];
}

function constant(node: GraphNode): Tensor[] {
  const v = node.attrs.value;
  if (isTensorAttr(v)) return [v];
  if (typeof node.attrs.value_float === 'number')
    return [float32([], Float32Array.of(node.attrs.value_float))];
  if (Array.isArray(node.attrs.value_floats))
    return [
      float32([node.attrs.value_floats.length], Float32Array.from(node.attrs.value_floats as number[])),
    ];
  if (typeof node.attrs.value_int === 'number') return [int64([], [node.attrs.value_int])];
  if (Array.isArray(node.attrs.value_ints))
    return [int64([node.attrs.value_ints.length], node.attrs.value_ints as number[])];
  throw new RuntimeError(
    'unsupported-op',
    `Constant '${node.name}' uses a value form this runtime does not read.`,
  );
}

function softmax(node: GraphNode, inputs: (Tensor | undefined)[], opset: number): Tensor[] {
  const x = need(node, inputs, 0);
  const rank = x.shape.length;
  const axis = normAxis(attrNumber(node, 'axis', opset >= 13 ? -1 : 1), rank, node);
  const xd = asFloat32(x, 'Softmax input');
  if (opset < 13 || axis === rank - 1) {
    // before opset 13 softmax flattens to [outer, inner] at the axis
    return [
      float32(x.shape, softmaxReference(xd, opset < 13 ? sizeOf(x.shape.slice(axis)) : x.shape[rank - 1]!)),
    ];
  }
  const perm = x.shape.map((_, i) => i);
  perm[axis] = rank - 1;
  perm[rank - 1] = axis;
  const moved = perm.map((p) => x.shape[p]!);
  const t = softmaxReference(transposeReference(xd, x.shape, perm), moved[rank - 1]!);
  return [float32(x.shape, transposeReference(t, moved, perm))];
}

/** The CPU implementation of every supported op. */
export function cpuOps(opset: number): Record<string, Op> {
  return {
    Conv: conv,
    Gemm: gemm,
    MatMul: matMul,
    BatchNormalization: (node, inputs) => {
      const x = need(node, inputs, 0);
      const [s, b, m, v] = [1, 2, 3, 4].map((i) =>
        asFloat32(need(node, inputs, i), 'BatchNormalization parameter'),
      );
      const eps = attrNumber(node, 'epsilon', 1e-5);
      const c = x.shape[1] ?? 1;
      const spatial = sizeOf(x.shape.slice(2));
      return [
        float32(
          x.shape,
          asFloat32(x, 'BatchNormalization input').map((val, e) => {
            const ch = Math.floor(e / spatial) % c;
            return ((val - m![ch]!) / Math.sqrt(v![ch]! + eps)) * s![ch]! + b![ch]!;
          }),
        ),
      ];
    },
    Relu: unary((v) => Math.max(v, 0)),
    Clip: (node, inputs) => {
      const [lo, hi] = clipBounds(node, inputs);
      return unary((v) => Math.min(Math.max(v, lo), hi))(node, inputs);
    },
    LeakyRelu: (node, inputs) => {
      const alpha = attrNumber(node, 'alpha', 0.01);
      return unary((v) => (v >= 0 ? v : alpha * v))(node, inputs);
    },
    Sigmoid: unary((v) => 1 / (1 + Math.exp(-v))),
    HardSigmoid: (node, inputs) => {
      const alpha = attrNumber(node, 'alpha', 0.2);
      const beta = attrNumber(node, 'beta', 0.5);
      return unary((v) => Math.max(0, Math.min(1, alpha * v + beta)))(node, inputs);
    },
    HardSwish: unary((v) => v * Math.max(0, Math.min(1, v / 6 + 0.5))),
    MaxPool: pool('max'),
    AveragePool: pool('avg'),
    GlobalAveragePool: (node, inputs) => {
      const x = need(node, inputs, 0);
      const hw = sizeOf(x.shape.slice(2));
      const xd = asFloat32(x, 'GlobalAveragePool input');
      const y = Float32Array.from({ length: xd.length / hw }, (_, i) => {
        let s = 0;
        for (let j = 0; j < hw; j++) s += xd[i * hw + j]!;
        return s / hw;
      });
      return [float32([...x.shape.slice(0, 2), ...x.shape.slice(2).map(() => 1)], y)];
    },
    Add: binary((a, b) => a + b),
    Sub: binary((a, b) => a - b),
    Mul: binary((a, b) => a * b),
    Div: binary((a, b) => a / b),
    Concat: (node, inputs) => {
      const parts = inputs.filter((t): t is Tensor => t !== undefined);
      const first = parts[0]!;
      const axis = normAxis(attrNumber(node, 'axis', 0), first.shape.length, node);
      const outer = sizeOf(first.shape.slice(0, axis));
      const total = parts.reduce((s, t) => s + t.shape[axis]!, 0);
      const shape = first.shape.map((d, i) => (i === axis ? total : d));
      const data = new (first.data.constructor as Float32ArrayConstructor)(sizeOf(shape));
      let at = 0;
      for (const t of parts) {
        const chunk = sizeOf(t.shape.slice(axis));
        const rowOut = sizeOf(shape.slice(axis));
        for (let o = 0; o < outer; o++)
          data.set(t.data.subarray(o * chunk, (o + 1) * chunk) as Float32Array, o * rowOut + at);
        at += chunk;
      }
      return [tensor(first.dtype, shape, data)];
    },
    Flatten: (node, inputs) => {
      const x = need(node, inputs, 0);
      return [tensor(x.dtype, flattenShape(x.shape, node), x.data)];
    },
    Reshape: (node, inputs) => {
      const x = need(node, inputs, 0);
      return [tensor(x.dtype, reshapeShape(x.shape, numbers(need(node, inputs, 1)), node), x.data)];
    },
    Transpose: (node, inputs) => {
      const x = need(node, inputs, 0);
      const perm = attrNumbers(node, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
      return [
        tensor(
          x.dtype,
          perm.map((p) => x.shape[p]!),
          x.dtype === 'float32'
            ? transposeReference(x.data as Float32Array, x.shape, perm)
            : Float64Array.from(transposeReference(Float32Array.from(x.data), x.shape, perm)),
        ),
      ];
    },
    Split: split,
    Slice: slice,
    Gather: gather,
    Shape: (node, inputs) => {
      const s = shapeSlice(node, need(node, inputs, 0).shape);
      return [int64([s.length], s)];
    },
    Unsqueeze: (node, inputs) => {
      const x = need(node, inputs, 0);
      const axes = axesOf(node, inputs[1] ? numbers(inputs[1]) : undefined);
      if (!axes) throw new RuntimeError('invalid-model', `Unsqueeze '${node.name}' has no axes.`);
      return [tensor(x.dtype, unsqueezeShape(x.shape, axes, node), x.data)];
    },
    Squeeze: (node, inputs) => {
      const x = need(node, inputs, 0);
      return [
        tensor(
          x.dtype,
          squeezeShape(x.shape, axesOf(node, inputs[1] ? numbers(inputs[1]) : undefined), node),
          x.data,
        ),
      ];
    },
    ReduceMean: reduceMean,
    Softmax: (node, inputs) => softmax(node, inputs, opset),
    Dropout: (node, inputs) => [need(node, inputs, 0)],
    Identity: (node, inputs) => [need(node, inputs, 0)],
    Constant: (node) => constant(node),
    Pad: pad,
  };
}
