import {
  packBitplanes,
  packSigns,
  packTernary,
  unpackBitplanes,
  unpackSigns,
  unpackTernary,
} from '@zeroskip/quant';
import {
  type CsrMatrix,
  type CsrWeightPayload,
  csrToDense,
  decodeWeightPayloadCsr,
  encodeWeightPayload,
  type PayloadScratch,
} from '@zeroskip/sparse';
import { RuntimeError } from './errors.js';
import { sizeOf, type Tensor, tensor, VALUE_BYTES, valueBytes, valuesFromBytes } from './tensor.js';

/**
 * How one constant tensor is stored in a .zsk file (README: "Weight encodings"). Tensors are viewed as
 * rows = shape[0] by cols = the rest.
 */
export type WeightEncoding =
  | { readonly kind: 'raw' }
  | {
      readonly kind: 'sparse';
      readonly indexBits: number;
      readonly huffman: boolean;
      readonly codebook?: Float32Array;
    }
  | { readonly kind: 'binary' }
  | { readonly kind: 'ternary' }
  | { readonly kind: 'dorefa'; readonly bits: number };

function rowsCols(shape: readonly number[]): [number, number] {
  return shape.length === 0 ? [1, 1] : [shape[0]!, sizeOf(shape.slice(1))];
}

function f32Bytes(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const words = (bits: number) => Math.ceil(bits / 32);

function notQuantized(what: string, name: string): never {
  throw new RuntimeError(
    'invalid-argument',
    `tensor '${name}' is not ${what}; quantize it before encoding it that way.`,
  );
}

/** Stored bytes and the bits they spend on weight values and on positions (Deep Compression's columns). */
export interface EncodedWeight {
  readonly bytes: Uint8Array;
  readonly valueBits: number;
  readonly indexBits: number;
}

/** Encodes a tensor and accounts for its bits. */
export function encodeWeightWithSizes(t: Tensor, e: WeightEncoding, name: string): EncodedWeight {
  if (e.kind === 'sparse') {
    const [rows, cols] = rowsCols(t.shape);
    // without a codebook the values are raw f32, and only the index stream is Huffman-coded
    const r = encodeWeightPayload(
      { rows, cols, data: t.data as Float32Array },
      {
        indexBits: e.indexBits,
        huffman: e.codebook ? e.huffman : { index: e.huffman },
        ...(e.codebook ? { codebook: e.codebook } : {}),
      },
    );
    return { bytes: r.bytes, valueBits: r.breakdown.weightBits, indexBits: r.breakdown.indexBits };
  }
  const bytes = encodeFixed(t, e, name);
  const perValue =
    e.kind === 'binary'
      ? 1
      : e.kind === 'ternary'
        ? 2
        : e.kind === 'dorefa'
          ? e.bits
          : 8 * (bytes.length / Math.max(1, t.data.length));
  return { bytes, valueBits: perValue * t.data.length, indexBits: 0 };
}

/** Encodes a tensor (already pruned or quantized as the encoding requires). */
export function encodeWeight(t: Tensor, e: WeightEncoding, name: string): Uint8Array {
  return encodeWeightWithSizes(t, e, name).bytes;
}

function encodeFixed(t: Tensor, e: Exclude<WeightEncoding, { kind: 'sparse' }>, name: string): Uint8Array {
  if (e.kind === 'raw') return valueBytes(t);
  const data = t.data as Float32Array;
  const [rows, cols] = rowsCols(t.shape);
  switch (e.kind) {
    case 'binary': {
      // one α per row (output channel): every weight of the row is ±α
      const alpha = Float32Array.from({ length: rows }, (_, r) => Math.abs(data[r * cols]!));
      for (let i = 0; i < data.length; i++)
        if (Math.abs(data[i]!) !== alpha[Math.floor(i / cols)])
          notQuantized('binarized (±α per output channel)', name);
      return concatBytes([f32Bytes(alpha), new Uint8Array(packSigns(data, [rows, cols, 1, 1]).data.buffer)]);
    }
    case 'ternary': {
      const alpha = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const codes = Int8Array.from(data, (v) =>
        v === 0 ? 0 : Math.abs(v) === alpha ? Math.sign(v) : notQuantized('ternary ({−α, 0, α})', name),
      );
      const p = packTernary(codes, [1, data.length, 1, 1]);
      return concatBytes([
        f32Bytes([alpha]),
        new Uint8Array(p.nonzero.data.buffer),
        new Uint8Array(p.negative.data.buffer),
      ]);
    }
    case 'dorefa': {
      // w = s·(2q/L − 1): the grid's scale is the largest magnitude, codes q in [0, L]
      const levels = 2 ** e.bits - 1;
      const s = data.reduce((m, v) => Math.max(m, Math.abs(v)), 0) || 1;
      const q = Array.from(data, (v) => {
        const code = Math.round(((v / s + 1) * levels) / 2);
        if (Math.abs(Math.fround(s * ((2 * code) / levels - 1)) - v) > 1e-6 * s)
          notQuantized(`on a ${e.bits}-bit DoReFa grid`, name);
        return code;
      });
      const planes = packBitplanes(q, [1, data.length, 1, 1], e.bits).planes;
      return concatBytes([f32Bytes([s]), ...planes.map((p) => new Uint8Array(p.data.buffer))]);
    }
  }
}

/**
 * A decoded tensor, and the encoding that re-encodes it to the same bytes: a sparse payload's codebook
 * lives in the payload, not in the file's record of the encoding.
 */
export interface StoredWeight {
  readonly tensor: Tensor;
  readonly encoding: WeightEncoding;
}

/** Decodes a tensor of `shape`, refusing anything that does not fit the bytes or `maxElements`. */
export function decodeWeight(
  bytes: Uint8Array,
  dtype: Tensor['dtype'],
  shape: readonly number[],
  e: WeightEncoding,
  maxElements: number,
): Tensor {
  return decodeStoredWeight(bytes, dtype, shape, e, maxElements).tensor;
}

/**
 * {@link decodeWeight}, with the encoding that re-encodes the tensor to `bytes`. A file's tensors share
 * one `scratch` for their sparse payloads' streams.
 */
export function decodeStoredWeight(
  bytes: Uint8Array,
  dtype: Tensor['dtype'],
  shape: readonly number[],
  e: WeightEncoding,
  maxElements: number,
  scratch?: PayloadScratch,
): StoredWeight {
  checkStoredWeight(dtype, shape, e, maxElements);
  if (e.kind !== 'sparse') return { tensor: decodeFixed(bytes, dtype, shape, e), encoding: e };
  const payload = decodeWeightPayloadCsr(bytes, { maxElements, ...(scratch ? { scratch } : {}) });
  return sparseStoredWeight(shape, e, payload);
}

/** Refuses a stored tensor whose record cannot be right, before any of its bytes are decoded. */
export function checkStoredWeight(
  dtype: Tensor['dtype'],
  shape: readonly number[],
  e: WeightEncoding,
  maxElements: number,
): void {
  const count = sizeOf(shape);
  if (!Number.isSafeInteger(count) || count > maxElements)
    throw new RuntimeError(
      'corrupt-file',
      `a tensor of shape [${shape.join(', ')}] exceeds what this file can hold (${maxElements} elements).`,
    );
  if (e.kind !== 'raw' && dtype !== 'float32')
    throw new RuntimeError(
      'corrupt-file',
      `a ${e.kind}-encoded tensor must be float32, the file says ${dtype}.`,
    );
}

/** The stored weight of a sparse payload decoded to CSR (here or on a worker) for a tensor of `shape`. */
export function sparseStoredWeight(
  shape: readonly number[],
  e: Extract<WeightEncoding, { kind: 'sparse' }>,
  payload: CsrWeightPayload,
): StoredWeight {
  const { codebook, ...csr } = payload;
  const [rows, cols] = rowsCols(shape);
  if (csr.rows !== rows || csr.cols !== cols)
    throw new RuntimeError(
      'corrupt-file',
      `a sparse payload of ${csr.rows}×${csr.cols} does not fit shape [${shape.join(', ')}].`,
    );
  return {
    tensor: sparseTensor(shape, csr),
    encoding: codebook ? { ...e, codebook } : e,
  };
}

/** The CSR (rows = shape[0], columns = the rest) that sparse-decoded tensors were made from. */
const storedCsrs = new WeakMap<Tensor, CsrMatrix>();

/**
 * The CSR a tensor was decoded from, viewed as rows = shape[0] by cols = the rest; undefined for
 * tensors not decoded from a sparse payload. Layers that run from CSR take it instead of expanding
 * the tensor and scanning it back (tensors are never written in place, so the two stay equal).
 */
export function storedCsr(t: Tensor): CsrMatrix | undefined {
  return storedCsrs.get(t);
}

/**
 * A float32 tensor whose dense values are expanded from `csr` when first read: a sparse layer that
 * runs from the CSR never pays for the rows·cols floats (VGG-16's fc6 alone holds 103 M).
 */
function sparseTensor(shape: readonly number[], csr: CsrMatrix): Tensor {
  let data: Float32Array | undefined;
  const t: Tensor = {
    dtype: 'float32',
    shape: [...shape],
    get data() {
      data ??= csrToDense(csr).data;
      return data;
    },
  };
  storedCsrs.set(t, csr);
  return t;
}

function decodeFixed(
  bytes: Uint8Array,
  dtype: Tensor['dtype'],
  shape: readonly number[],
  e: Exclude<WeightEncoding, { kind: 'sparse' }>,
): Tensor {
  const count = sizeOf(shape);
  const [rows, cols] = rowsCols(shape);
  const need = (n: number) => {
    if (bytes.length !== n)
      throw new RuntimeError(
        'corrupt-file',
        `a ${e.kind} tensor of shape [${shape.join(', ')}] needs ${n} bytes, the file holds ${bytes.length}.`,
      );
  };
  // copies: a Node Buffer's own slice is a view of a shared pool, at any offset
  const copy = (from: number, n: number) => Uint8Array.prototype.slice.call(bytes, from, from + 4 * n).buffer;
  const u32 = (from: number, n: number) => new Uint32Array(copy(from, n));
  const f32 = (from: number, n: number) => new Float32Array(copy(from, n));
  switch (e.kind) {
    case 'raw': {
      need(count * VALUE_BYTES[dtype]);
      return tensor(dtype, shape, valuesFromBytes(dtype, bytes));
    }
    case 'binary': {
      const w = words(cols);
      need(4 * rows + 4 * rows * w);
      const alpha = f32(0, rows);
      const signs = unpackSigns({ data: u32(4 * rows, rows * w), shape: [rows, cols, 1, 1], words: w });
      return tensor(
        'float32',
        shape,
        signs.map((sgn, i) => sgn * alpha[Math.floor(i / cols)]!),
      );
    }
    case 'ternary': {
      const w = words(count);
      need(4 + 8 * w);
      const alpha = f32(0, 1)[0]!;
      const plane = (at: number) => ({ data: u32(at, w), shape: [1, count, 1, 1] as const, words: w });
      const codes = unpackTernary({ nonzero: plane(4), negative: plane(4 + 4 * w) });
      return tensor(
        'float32',
        shape,
        codes.map((c) => c * alpha),
      );
    }
    case 'dorefa': {
      if (!Number.isInteger(e.bits) || e.bits < 1 || e.bits > 16)
        throw new RuntimeError('corrupt-file', `DoReFa width ${e.bits} is outside 1..16.`);
      const w = words(count);
      need(4 + 4 * w * e.bits);
      const s = f32(0, 1)[0]!;
      const levels = 2 ** e.bits - 1;
      const q = unpackBitplanes({
        planes: Array.from({ length: e.bits }, (_, m) => ({
          data: u32(4 + 4 * w * m, w),
          shape: [1, count, 1, 1] as const,
          words: w,
        })),
        bits: e.bits,
      });
      return tensor(
        'float32',
        shape,
        q.map((code) => s * ((2 * code) / levels - 1)),
      );
    }
  }
}
