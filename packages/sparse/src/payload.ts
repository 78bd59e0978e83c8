import { BitReader, BitWriter } from './bitstream.js';
import { csrToDense } from './compressed.js';
import { checkInt, FormatError } from './errors.js';
import {
  HuffmanDecoder,
  huffmanBits,
  huffmanCodeLengths,
  huffmanEncode,
  readCodeLengths,
  writeCodeLengths,
} from './huffman.js';
import { type CsrMatrix, type DenseMatrix, dense } from './matrix.js';
import { type RelativeIndex, relativeIndexEncode, relativeIndexPositions } from './relative-index.js';

/*
 * One layer's weights as Deep Compression stores them (README: "Weight payload layout").
 * Header, 28 bytes little-endian: magic "ZSWP", version u8, flags u8 (1 codebook, 2 Huffman index,
 * 4 Huffman values), indexBits u8, codeBits u8, rows u32, cols u32, entries u32, nnz u32, codebook size u32.
 * Then a bit stream (bitstream.ts order): codebook (f32 bits, 32 each), index section, value section.
 */
const MAGIC = 0x5057535a; // "ZSWP" read as little-endian u32
const VERSION = 1;
const HEADER_BYTES = 28;
const FLAG_CODEBOOK = 1;
const FLAG_HUFFMAN_INDEX = 2;
const FLAG_HUFFMAN_VALUES = 4;

export interface PayloadOptions {
  /** Bits per relative index (1..16); the paper used 8 for conv, 5 for fc layers. */
  readonly indexBits: number;
  /**
   * Shared weights: every non-zero must be one of these values; entries then store codebook indices.
   * Filler entries use the codebook's exact 0, which is appended when the codebook has none.
   */
  readonly codebook?: Float32Array;
  /** Huffman-code the index stream, the value stream, or both (`true`). */
  readonly huffman?: boolean | { readonly index?: boolean; readonly values?: boolean };
  /** Longest Huffman code, 1..24 (default 16). */
  readonly maxCodeLength?: number;
}

/** Sizes in the layout of Deep Compression's tables; all bit counts are as stored. */
export interface PayloadBreakdown {
  readonly params: number;
  readonly nnz: number;
  readonly entries: number;
  readonly fillers: number;
  /** Bits of the index stream (Huffman-coded or fixed width). */
  readonly indexBits: number;
  /** Bits of the value stream (raw f32, codebook indices, or their Huffman codes). */
  readonly weightBits: number;
  readonly codebookBytes: number;
  /** Header plus serialised Huffman tables. */
  readonly overheadBytes: number;
  /** Fixed-width bits of the Huffman-coded streams minus their coded bits (0 without Huffman). */
  readonly huffmanSavingBits: number;
  readonly totalBytes: number;
  /** Dense f32 size / total size. */
  readonly ratio: number;
}

export interface DecodedPayload {
  readonly rows: number;
  readonly cols: number;
  /** Row-major positions of the non-zeros, increasing (fillers removed). */
  readonly positions: Float64Array;
  readonly values: Float32Array;
  /** With a codebook: the shared values and each non-zero's index into them. */
  readonly codebook?: Float32Array;
  readonly codes?: Uint16Array;
}

function huffmanFlags(h: PayloadOptions['huffman']): { index: boolean; values: boolean } {
  if (h === undefined || typeof h === 'boolean') return { index: h === true, values: h === true };
  return { index: h.index === true, values: h.values === true };
}

function bitsFor(k: number): number {
  return Math.max(1, Math.ceil(Math.log2(k)));
}

/** Encodes one layer's (pruned, optionally weight-shared) matrix. */
export function encodeWeightPayload(
  m: DenseMatrix,
  options: PayloadOptions,
): { bytes: Uint8Array; breakdown: PayloadBreakdown } {
  const { rows, cols, data } = dense(m.rows, m.cols, m.data);
  checkInt('indexBits', options.indexBits, 1, 16);
  checkInt('rows', rows, 0, 2 ** 32 - 1);
  const maxLen = options.maxCodeLength ?? 16;
  const huff = huffmanFlags(options.huffman);
  const ri = relativeIndexEncode(data, options.indexBits);

  let codebook: Float32Array | undefined;
  let symbols: Uint16Array | undefined;
  let codeBits = 0;
  if (options.codebook) {
    ({ codebook, symbols } = codebookSymbols(ri, options.codebook));
    codeBits = bitsFor(codebook.length);
  } else if (huff.values) {
    throw new FormatError(
      'invalid-argument',
      'Huffman coding of values needs a codebook; pass `codebook` or set huffman.values to false.',
    );
  }

  const header = new DataView(new ArrayBuffer(HEADER_BYTES));
  header.setUint32(0, MAGIC, true);
  header.setUint8(4, VERSION);
  header.setUint8(
    5,
    (codebook ? FLAG_CODEBOOK : 0) |
      (huff.index ? FLAG_HUFFMAN_INDEX : 0) |
      (huff.values ? FLAG_HUFFMAN_VALUES : 0),
  );
  header.setUint8(6, options.indexBits);
  header.setUint8(7, codeBits);
  header.setUint32(8, rows, true);
  header.setUint32(12, cols, true);
  header.setUint32(16, ri.entries, true);
  header.setUint32(20, ri.entries - ri.fillers, true);
  header.setUint32(24, codebook?.length ?? 0, true);

  const w = new BitWriter();
  w.writeBytes(new Uint8Array(header.buffer));
  const f32 = new DataView(new ArrayBuffer(4));
  const writeF32 = (v: number) => {
    f32.setFloat32(0, v, true);
    w.write(f32.getUint32(0, true), 32);
  };
  codebook?.forEach(writeF32);

  const index = writeSymbols(w, ri.gaps, 2 ** options.indexBits, options.indexBits, huff.index, maxLen);
  let weightBits: number;
  let valueSaving = 0;
  let valueTable = 0;
  if (symbols && codebook) {
    const v = writeSymbols(w, symbols, codebook.length, codeBits, huff.values, maxLen);
    weightBits = v.dataBits;
    valueSaving = v.savingBits;
    valueTable = v.tableBits;
  } else {
    w.alignToByte();
    const start = w.bitLength;
    ri.values.forEach(writeF32);
    weightBits = w.bitLength - start;
  }
  const bytes = w.finish();
  const codebookBytes = (codebook?.length ?? 0) * 4;
  return {
    bytes,
    breakdown: {
      params: rows * cols,
      nnz: ri.entries - ri.fillers,
      entries: ri.entries,
      fillers: ri.fillers,
      indexBits: index.dataBits,
      weightBits,
      codebookBytes,
      overheadBytes: HEADER_BYTES + Math.ceil((index.tableBits + valueTable) / 8),
      huffmanSavingBits: index.savingBits + valueSaving,
      totalBytes: bytes.length,
      ratio: bytes.length === 0 ? 0 : (rows * cols * 4) / bytes.length,
    },
  };
}

function codebookSymbols(
  ri: RelativeIndex,
  given: Float32Array,
): { codebook: Float32Array; symbols: Uint16Array } {
  checkInt('codebook size', given.length, 1, 65535);
  const lookup = new Map<number, number>();
  given.forEach((v, i) => {
    if (!lookup.has(v)) lookup.set(v, i);
  });
  let codebook = given;
  let zero = lookup.get(0);
  if (zero === undefined && ri.fillers > 0) {
    codebook = new Float32Array(given.length + 1);
    codebook.set(given);
    zero = given.length;
  }
  const symbols = new Uint16Array(ri.entries);
  for (let k = 0; k < ri.entries; k++) {
    const v = ri.values[k]!;
    const s = v === 0 ? zero : lookup.get(v);
    if (s === undefined) {
      throw new FormatError(
        'invalid-argument',
        `weight ${v} is not in the codebook; quantize the layer with this codebook first.`,
      );
    }
    symbols[k] = s;
  }
  return { codebook, symbols };
}

/** Writes symbols < alphabet either fixed-width or Huffman-coded; returns the bits spent. */
function writeSymbols(
  w: BitWriter,
  symbols: Uint16Array,
  alphabet: number,
  width: number,
  huffman: boolean,
  maxLen: number,
) {
  w.alignToByte();
  if (!huffman) {
    const start = w.bitLength;
    for (let i = 0; i < symbols.length; i++) w.writeUnchecked(symbols[i]!, width);
    return { dataBits: w.bitLength - start, tableBits: 0, savingBits: 0 };
  }
  const freq = new Float64Array(alphabet);
  for (let i = 0; i < symbols.length; i++) freq[symbols[i]!]!++;
  const lengths = huffmanCodeLengths(freq, Math.max(maxLen, bitsFor(alphabet)));
  const t0 = w.bitLength;
  writeCodeLengths(w, lengths);
  const t1 = w.bitLength;
  huffmanEncode(symbols, lengths, w);
  const dataBits = huffmanBits(freq, lengths);
  return { dataBits, tableBits: t1 - t0, savingBits: symbols.length * width - dataBits };
}

export interface DecodeOptions {
  /** Largest rows·cols accepted (default 2^31); a header above it is refused before decoding. */
  readonly maxElements?: number;
  /** Memory for the decoded streams, reused by the payloads of one file (see {@link PayloadScratch}). */
  readonly scratch?: PayloadScratch;
}

/**
 * Grow-only memory for a payload's decoded streams, which the decoders read once and drop: a file's
 * tensors decoded with one scratch touch fresh memory once for the largest, not once per tensor
 * (ResNet-50's 54 sparse convs would allocate and fault in 30 MB of streams per load). Nothing a
 * decoder returns refers to it.
 */
export class PayloadScratch {
  private readonly arrays: Uint16Array[] = [new Uint16Array(0), new Uint16Array(0)];

  /** `count` elements of stream `slot` (0 gaps, 1 codebook indices), contents undefined. */
  stream(slot: 0 | 1, count: number): Uint16Array {
    let a = this.arrays[slot]!;
    if (a.length < count) {
      a = new Uint16Array(count);
      this.arrays[slot] = a;
    }
    return a.subarray(0, count);
  }
}

/** A payload's header and its two streams, decoded but not yet expanded to positions. */
interface PayloadStreams {
  readonly rows: number;
  readonly cols: number;
  readonly nnz: number;
  /** Zeros before each entry (fillers included); each fits the header's index bits by construction. */
  readonly gaps: Uint16Array;
  /** Each entry's value: raw f32, or (with `codebook`) its codebook index in `symbols`. */
  readonly values:
    | { readonly codebook: Float32Array; readonly symbols: Uint16Array }
    | { readonly raw: Float32Array };
}

/** Parses the header and decodes both streams; every allocation is bounded by the input's length. */
function readPayloadStreams(bytes: Uint8Array, options: DecodeOptions): PayloadStreams {
  if (bytes.length < HEADER_BYTES) {
    throw new FormatError(
      'truncated',
      `a weight payload needs at least ${HEADER_BYTES} header bytes, got ${bytes.length}.`,
    );
  }
  const h = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (h.getUint32(0, true) !== MAGIC)
    throw new FormatError('corrupt', 'this is not a Zeroskip weight payload (bad magic).');
  const version = h.getUint8(4);
  if (version !== VERSION) {
    throw new FormatError(
      'unsupported-version',
      `weight payload version ${version} is not supported; this reader knows version ${VERSION}.`,
    );
  }
  const flags = h.getUint8(5);
  const indexBits = h.getUint8(6);
  const codeBits = h.getUint8(7);
  const rows = h.getUint32(8, true);
  const cols = h.getUint32(12, true);
  const entries = h.getUint32(16, true);
  const nnz = h.getUint32(20, true);
  const k = h.getUint32(24, true);
  const hasCodebook = (flags & FLAG_CODEBOOK) !== 0;
  if (flags > 7 || indexBits < 1 || indexBits > 16)
    throw new FormatError(
      'corrupt',
      `the payload header has invalid flags ${flags} or index bits ${indexBits}.`,
    );
  if (
    hasCodebook
      ? k < 1 || k > 65536 || codeBits !== bitsFor(k)
      : k !== 0 || codeBits !== 0 || flags & FLAG_HUFFMAN_VALUES
  ) {
    throw new FormatError(
      'corrupt',
      `the payload header's codebook fields (size ${k}, ${codeBits} bits) are inconsistent.`,
    );
  }
  const maxElements = options.maxElements ?? 2 ** 31;
  if (rows * cols > maxElements) {
    throw new FormatError(
      'limit-exceeded',
      `the payload claims a ${rows}×${cols} matrix, above the limit of ${maxElements} elements.`,
    );
  }
  if (nnz > entries)
    throw new FormatError('corrupt', `the payload claims ${nnz} non-zeros among only ${entries} entries.`);
  const r = new BitReader(bytes, HEADER_BYTES * 8);
  const minBitsPerEntry =
    ((flags & FLAG_HUFFMAN_INDEX) !== 0 ? 1 : indexBits) +
    (hasCodebook ? ((flags & FLAG_HUFFMAN_VALUES) !== 0 ? 1 : codeBits) : 32);
  r.need(k * 32 + entries * minBitsPerEntry);

  const codebook = hasCodebook
    ? new Float32Array(new Uint32Array(k).map(() => r.read(32)).buffer)
    : undefined;
  const out = (slot: 0 | 1) => options.scratch?.stream(slot, entries) ?? new Uint16Array(entries);
  const gaps = readSymbols(r, out(0), indexBits, (flags & FLAG_HUFFMAN_INDEX) !== 0);
  if (codebook) {
    const symbols = readSymbols(r, out(1), codeBits, (flags & FLAG_HUFFMAN_VALUES) !== 0);
    return { rows, cols, nnz, gaps, values: { codebook, symbols } };
  }
  const raw = r.readBytes(entries * 4);
  // a copy: the view may be unaligned, and f32 bytes are little-endian as typed arrays read them here
  return { rows, cols, nnz, gaps, values: { raw: new Float32Array(raw.slice().buffer) } };
}

function overrun(position: number, length: number): FormatError {
  return new FormatError(
    'corrupt',
    `the relative index reaches position ${position}, past the ${length}-element array.`,
  );
}

function badCode(symbol: number, k: number): FormatError {
  return new FormatError('corrupt', `codebook index ${symbol} is out of range [0, ${k}).`);
}

function nnzMismatch(claimed: number, found: number): FormatError {
  return new FormatError('corrupt', `the payload claims ${claimed} non-zeros but holds ${found}.`);
}

/** Decodes and validates a payload; every allocation is bounded by the input's length. */
export function decodeWeightPayload(bytes: Uint8Array, options: DecodeOptions = {}): DecodedPayload {
  const { rows, cols, nnz, gaps, values: stream } = readPayloadStreams(bytes, options);
  const all = relativeIndexPositions(gaps, rows * cols);
  const entries = gaps.length;
  const entryValues = new Float32Array(entries);
  if ('codebook' in stream) {
    const { codebook, symbols } = stream;
    for (let i = 0; i < entries; i++) {
      const v = codebook[symbols[i]!];
      if (v === undefined) throw badCode(symbols[i]!, codebook.length);
      entryValues[i] = v;
    }
  } else entryValues.set(stream.raw);
  let found = 0;
  for (let i = 0; i < entries; i++) if (entryValues[i] !== 0) found++;
  if (found !== nnz) throw nnzMismatch(nnz, found);
  const positions = new Float64Array(nnz);
  const values = new Float32Array(nnz);
  const symbols = 'codebook' in stream ? stream.symbols : undefined;
  const codes = symbols ? new Uint16Array(nnz) : undefined;
  for (let i = 0, j = 0; i < entries; i++) {
    if (entryValues[i] === 0) continue;
    positions[j] = all[i]!;
    values[j] = entryValues[i]!;
    if (codes && symbols) codes[j] = symbols[i]!;
    j++;
  }
  return {
    rows,
    cols,
    positions,
    values,
    ...('codebook' in stream && codes ? { codebook: stream.codebook, codes } : {}),
  };
}

/** A payload decoded straight to its dense matrix, and its codebook when it has one. */
export interface DenseWeightPayload extends DenseMatrix {
  readonly codebook?: Float32Array;
}

/** A payload decoded straight to CSR, and its codebook when it has one. */
export interface CsrWeightPayload extends CsrMatrix {
  readonly codebook?: Float32Array;
}

/**
 * Decodes and validates a payload into CSR in one pass over the entries: what loading a sparse layer
 * needs, without ever expanding the rows·cols matrix. Besides what the input's length bounds, it
 * allocates one row pointer per row (at most `maxElements` rows, or 2^16).
 */
export function decodeWeightPayloadCsr(bytes: Uint8Array, options: DecodeOptions = {}): CsrWeightPayload {
  const { rows, cols, nnz, gaps, values: stream } = readPayloadStreams(bytes, options);
  const maxElements = options.maxElements ?? 2 ** 31;
  // rows·cols is bounded already, but rows alone is not when cols is 0: empty rows up to
  // EMPTY_ROWS are always accepted (a small matrix under a small limit), more only within the limit
  if (rows > Math.max(maxElements, EMPTY_ROWS))
    throw new FormatError(
      'limit-exceeded',
      `the payload claims ${rows} rows, above the limit of ${maxElements} elements.`,
    );
  const length = rows * cols;
  const entries = gaps.length;
  // the last entry's position, checked before anything is written
  let last = entries - 1;
  for (let i = 0; i < entries; i++) last += gaps[i]!;
  if (last >= length) throw overrun(last, length);
  const rowPtr = new Uint32Array(rows + 1);
  const colIdx = new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  let found: number;
  if ('codebook' in stream) {
    checkCodes(stream.symbols, stream.codebook.length);
    found = fillCsr(gaps, stream.codebook, stream.symbols, cols, rowPtr, colIdx, values);
  } else found = fillCsr(gaps, stream.raw, undefined, cols, rowPtr, colIdx, values);
  if (found !== nnz) throw nnzMismatch(nnz, found);
  return {
    rows,
    cols,
    rowPtr,
    colIdx,
    values,
    ...('codebook' in stream ? { codebook: stream.codebook } : {}),
  };
}

/** Row pointers a payload of no columns may need whatever the limit (256 KiB of them). */
const EMPTY_ROWS = 1 << 16;

/** Refuses the first codebook index outside the codebook; one branch-free pass when all are inside. */
function checkCodes(symbols: Uint16Array, k: number): void {
  let max = 0;
  for (let i = 0; i < symbols.length; i++) max = Math.max(max, symbols[i]!);
  if (max >= k) throw badCode(symbols.find((s) => s >= k)!, k);
}

/**
 * Writes the CSR of the entries and returns the non-zeros found, without a per-entry value array:
 * entry i's value is `source[keys[i]]` (codebook indices, checked to lie inside it), or `source[i]`
 * without keys (raw values). Positions were checked to lie inside the matrix, so rows only move
 * forward and stay below the row count; past the arrays' lengths (a payload holding more non-zeros
 * than it claims) the writes are ignored and the caller refuses the count.
 */
function fillCsr(
  gaps: Uint16Array,
  source: Float32Array,
  keys: Uint16Array | undefined,
  cols: number,
  rowPtr: Uint32Array,
  colIdx: Uint32Array,
  values: Float32Array,
): number {
  const rows = rowPtr.length - 1;
  let found = 0;
  let p = -1;
  let row = 0;
  let rowStart = 0;
  for (let i = 0; i < gaps.length; i++) {
    p += gaps[i]! + 1;
    const v = source[keys ? keys[i]! : i]!;
    if (v === 0) continue;
    while (p >= rowStart + cols) {
      rowPtr[++row] = found;
      rowStart += cols;
    }
    colIdx[found] = p - rowStart;
    values[found++] = v;
  }
  while (row < rows) rowPtr[++row] = found;
  return found;
}

/**
 * Decodes and validates a payload into a dense row-major matrix, through {@link decodeWeightPayloadCsr}
 * (so without the positions of {@link decodeWeightPayload}). Besides what the input's length bounds,
 * it allocates the rows·cols floats (at most `maxElements`).
 */
export function decodeWeightPayloadDense(bytes: Uint8Array, options: DecodeOptions = {}): DenseWeightPayload {
  const { codebook, ...csr } = decodeWeightPayloadCsr(bytes, options);
  return { ...csrToDense(csr), ...(codebook ? { codebook } : {}) };
}

/** Reads `out.length` symbols of a stream into `out`. */
function readSymbols(r: BitReader, out: Uint16Array, width: number, huffman: boolean): Uint16Array {
  r.alignToByte();
  if (huffman) {
    const lengths = readCodeLengths(r);
    if (lengths.length > 2 ** width) {
      throw new FormatError(
        'corrupt',
        `a Huffman table of ${lengths.length} symbols cannot code ${width}-bit values.`,
      );
    }
    return new HuffmanDecoder(lengths).decode(r, out.length, out) as Uint16Array;
  }
  return r.readFields(width, out);
}

/** The decoded non-zeros as a CSR matrix. */
export function payloadToCsr(p: DecodedPayload): CsrMatrix {
  const rowPtr = new Uint32Array(p.rows + 1);
  const colIdx = new Uint32Array(p.positions.length);
  for (let i = 0; i < p.positions.length; i++) {
    const pos = p.positions[i]!;
    const row = Math.floor(pos / p.cols);
    rowPtr[row + 1]!++;
    colIdx[i] = pos - row * p.cols;
  }
  for (let row = 0; row < p.rows; row++) rowPtr[row + 1]! += rowPtr[row]!;
  return { rows: p.rows, cols: p.cols, rowPtr, colIdx, values: p.values.slice() };
}

/** The decoded matrix, dense. */
export function payloadToDense(p: DecodedPayload): DenseMatrix {
  const data = new Float32Array(p.rows * p.cols);
  for (let i = 0; i < p.positions.length; i++) data[p.positions[i]!] = p.values[i]!;
  return { rows: p.rows, cols: p.cols, data };
}
