import { type BitReader, BitWriter } from './bitstream.js';
import { checkInt, FormatError } from './errors.js';

/** Largest alphabet: 16-bit symbols (codebook indices, relative-index gaps). */
export const MAX_SYMBOLS = 65536;
/** Longest code: the decoder's bit buffer always holds at least this many bits. */
export const MAX_CODE_LENGTH = 24;
/** Codes up to this long decode with one table look-up; longer ones take a bit-serial slow path. */
const TABLE_BITS = 12;
const LONG = 31;

/**
 * Optimal length-limited prefix-code lengths (package-merge, Larmore & Hirschberg 1990).
 * Symbols of zero frequency get length 0 (no code). A lone symbol gets a 1-bit code so that the
 * stream still has one bit per symbol to count.
 */
export function huffmanCodeLengths(frequencies: ArrayLike<number>, maxLength = 16): Uint8Array {
  checkInt('alphabet size', frequencies.length, 0, MAX_SYMBOLS);
  checkInt('maxLength', maxLength, 1, MAX_CODE_LENGTH);
  const lengths = new Uint8Array(frequencies.length);
  const used: number[] = [];
  for (let s = 0; s < frequencies.length; s++) {
    const f = frequencies[s]!;
    if (!(f >= 0 && Number.isFinite(f))) {
      throw new FormatError(
        'invalid-argument',
        `frequency of symbol ${s} must be a finite number ≥ 0, got ${f}.`,
      );
    }
    if (f > 0) used.push(s);
  }
  const n = used.length;
  if (n === 0) return lengths;
  if (n === 1) {
    lengths[used[0]!] = 1;
    return lengths;
  }
  if (n > 2 ** maxLength) {
    throw new FormatError(
      'invalid-argument',
      `${n} symbols cannot all get codes of at most ${maxLength} bits.`,
    );
  }
  used.sort((a, b) => frequencies[a]! - frequencies[b]! || a - b);
  const leaves = Float64Array.from(used, (s) => frequencies[s]!);

  // List t holds the items of width 2^-(L-t); isPackage[t][i] says whether item i is a package of
  // two items of list t-1 (else it is the next leaf). Leaves sort before packages of equal weight.
  const isPackage: Uint8Array[] = [new Uint8Array(n)];
  let prev = leaves;
  for (let t = 1; t < maxLength; t++) {
    const packages = prev.length >>> 1;
    const merged = new Float64Array(n + packages);
    const flags = new Uint8Array(n + packages);
    let li = 0;
    let pi = 0;
    for (let k = 0; k < merged.length; k++) {
      const pw = pi < packages ? prev[2 * pi]! + prev[2 * pi + 1]! : Number.POSITIVE_INFINITY;
      if (li < n && leaves[li]! <= pw) {
        merged[k] = leaves[li++]!;
      } else {
        merged[k] = pw;
        flags[k] = 1;
        pi++;
      }
    }
    isPackage.push(flags);
    prev = merged;
  }
  // Take the 2n-2 cheapest items of the last list and walk back: a leaf taken in a list adds one bit to
  // its symbol's length, and the taken leaves of each list are always the cheapest ones.
  let take = 2 * n - 2;
  for (let t = maxLength - 1; t >= 0; t--) {
    const flags = isPackage[t]!;
    let packages = 0;
    for (let k = 0; k < take; k++) packages += flags[k]!;
    const leavesTaken = take - packages;
    for (let i = 0; i < leavesTaken; i++) lengths[used[i]!]!++;
    take = 2 * packages;
  }
  return lengths;
}

/** Validates code lengths (each ≤ 24, Kraft sum ≤ 1) and returns the count of codes per length. */
function lengthCounts(lengths: Uint8Array): Uint32Array {
  const counts = new Uint32Array(MAX_CODE_LENGTH + 1);
  let kraft = 0;
  for (let s = 0; s < lengths.length; s++) {
    const l = lengths[s]!;
    if (l > MAX_CODE_LENGTH) {
      throw new FormatError(
        'corrupt',
        `symbol ${s} has a code of ${l} bits; at most ${MAX_CODE_LENGTH} are allowed.`,
      );
    }
    if (l > 0) {
      counts[l]!++;
      kraft += 2 ** -l;
    }
  }
  if (kraft > 1) {
    throw new FormatError(
      'corrupt',
      'the Huffman code lengths are over-subscribed (Kraft sum > 1), so the table is corrupt.',
    );
  }
  return counts;
}

/** Canonical codes (most significant bit first) for the given lengths: shorter codes first, then by symbol. */
export function canonicalCodes(lengths: Uint8Array): Uint32Array {
  const counts = lengthCounts(lengths);
  const next = new Uint32Array(MAX_CODE_LENGTH + 2);
  let code = 0;
  for (let l = 1; l <= MAX_CODE_LENGTH; l++) {
    code = (code + counts[l - 1]!) * 2;
    next[l] = code;
  }
  const codes = new Uint32Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) {
    const l = lengths[s]!;
    if (l > 0) codes[s] = next[l]!++;
  }
  return codes;
}

function reverseBits(code: number, length: number): number {
  let r = 0;
  for (let i = 0; i < length; i++) r = (r << 1) | ((code >>> i) & 1);
  return r;
}

/**
 * Serialises code lengths compactly: alphabet size (17 bits), then per symbol a 5-bit length 1..24,
 * 0 for a single unused symbol, or 31 followed by 16 bits (run − 2) for a run of 2..65537 unused ones.
 */
export function writeCodeLengths(w: BitWriter, lengths: Uint8Array): void {
  checkInt('alphabet size', lengths.length, 0, MAX_SYMBOLS);
  lengthCounts(lengths);
  w.write(lengths.length, 17);
  for (let s = 0; s < lengths.length; ) {
    if (lengths[s] !== 0) {
      w.write(lengths[s++]!, 5);
      continue;
    }
    let run = 1;
    while (s + run < lengths.length && lengths[s + run] === 0) run++;
    if (run === 1) w.write(0, 5);
    else {
      w.write(31, 5);
      w.write(run - 2, 16);
    }
    s += run;
  }
}

export function readCodeLengths(r: BitReader): Uint8Array {
  const n = r.read(17);
  if (n > MAX_SYMBOLS)
    throw new FormatError(
      'corrupt',
      `the Huffman table claims ${n} symbols; at most ${MAX_SYMBOLS} are allowed.`,
    );
  const lengths = new Uint8Array(n);
  for (let s = 0; s < n; ) {
    const v = r.read(5);
    if (v === 31) {
      const run = r.read(16) + 2;
      if (s + run > n)
        throw new FormatError(
          'corrupt',
          `a run of ${run} unused symbols overruns the ${n}-symbol Huffman table.`,
        );
      s += run;
    } else if (v > MAX_CODE_LENGTH) {
      throw new FormatError('corrupt', `the Huffman table holds the invalid code length ${v}.`);
    } else {
      lengths[s++] = v;
    }
  }
  lengthCounts(lengths);
  return lengths;
}

/** Encodes symbols with the canonical code for `lengths`, each code most significant bit first. */
export function huffmanEncode(
  symbols: ArrayLike<number>,
  lengths: Uint8Array,
  w: BitWriter = new BitWriter(),
): BitWriter {
  const codes = canonicalCodes(lengths);
  const reversed = new Uint32Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) reversed[s] = reverseBits(codes[s]!, lengths[s]!);
  for (let i = 0; i < symbols.length; i++) {
    const s = symbols[i]!;
    const l = lengths[s];
    if (!l)
      throw new FormatError(
        'invalid-argument',
        `symbol ${s} at position ${i} has no code in this Huffman table.`,
      );
    w.writeUnchecked(reversed[s]!, l);
  }
  return w;
}

/** Total bits of the symbols under `lengths` (Σ frequency × length). */
export function huffmanBits(frequencies: ArrayLike<number>, lengths: Uint8Array): number {
  let bits = 0;
  for (let s = 0; s < lengths.length; s++) bits += (frequencies[s] ?? 0) * lengths[s]!;
  return bits;
}

/** Symbols a {@link HuffmanDecoder.multi} entry holds at most. */
const MULTI = 3;
/** Bits per symbol in a multi-symbol entry: alphabets up to 256 symbols get the multi-symbol table. */
const MULTI_SYMBOL_BITS = 8;

/**
 * A decoder built once per code table: a 2^12-entry look-up table plus canonical data for longer codes,
 * and for alphabets of at most 256 symbols a second table that decodes up to three short codes per
 * look-up.
 */
export class HuffmanDecoder {
  private readonly table: Uint32Array;
  /** Entry: bits consumed (5) | symbols n (2) | n × 8-bit symbols; n = 0 where the single table must go. */
  private readonly multi: Uint32Array | undefined;
  private readonly minLength: number;
  private readonly maxLength: number;
  private readonly firstCode = new Int32Array(MAX_CODE_LENGTH + 1);
  private readonly firstIndex = new Int32Array(MAX_CODE_LENGTH + 1);
  private readonly counts: Uint32Array;
  private readonly sorted: Uint32Array;

  constructor(readonly lengths: Uint8Array) {
    this.counts = lengthCounts(lengths);
    let min = 0;
    let max = 0;
    for (let l = 1; l <= MAX_CODE_LENGTH; l++) {
      if (this.counts[l]! > 0) {
        if (min === 0) min = l;
        max = l;
      }
    }
    this.minLength = min;
    this.maxLength = max;
    // a full-width window even for short codes: the multi-symbol table packs more of them per look-up
    this.table = new Uint32Array(1 << TABLE_BITS);
    const codes = canonicalCodes(lengths);
    const order = Array.from({ length: lengths.length }, (_, s) => s)
      .filter((s) => lengths[s]! > 0)
      .sort((a, b) => lengths[a]! - lengths[b]! || a - b);
    this.sorted = Uint32Array.from(order);
    let index = 0;
    for (let l = 1; l <= MAX_CODE_LENGTH; l++) {
      this.firstIndex[l] = index;
      this.firstCode[l] = this.counts[l]! > 0 ? codes[this.sorted[index]!]! : 0;
      index += this.counts[l]!;
    }
    for (const s of order) {
      const l = lengths[s]!;
      if (l <= TABLE_BITS) {
        const rev = reverseBits(codes[s]!, l);
        for (let j = rev; j < this.table.length; j += 1 << l) this.table[j] = (s << 5) | l;
      } else {
        const prefix = reverseBits(codes[s]! >>> (l - TABLE_BITS), TABLE_BITS);
        this.table[prefix] = LONG;
      }
    }
    this.multi = lengths.length <= 1 << MULTI_SYMBOL_BITS ? this.multiTable() : undefined;
  }

  /** For each look-up window, the run of whole short codes at its start (as many as fit, up to three). */
  private multiTable(): Uint32Array {
    const table = this.table;
    const mask = (1 << TABLE_BITS) - 1;
    const multi = new Uint32Array(table.length);
    for (let w = 0; w < multi.length; w++) {
      let used = 0;
      let n = 0;
      let symbols = 0;
      while (n < MULTI) {
        // a code no longer than the window's unused bits depends on those bits alone
        const e = table[(w >>> used) & mask]!;
        const len = e & 31;
        if (len === 0 || len === LONG || used + len > TABLE_BITS) break;
        symbols |= (e >>> 5) << (7 + MULTI_SYMBOL_BITS * n);
        used += len;
        n++;
      }
      multi[w] = n === 0 ? 0 : used | (n << 5) | symbols;
    }
    return multi;
  }

  /**
   * Decodes `count` symbols from `r` into `out` (allocated when absent) and advances `r` past them.
   * Refuses a count the remaining bits could not hold before allocating anything.
   */
  decode(r: BitReader, count: number, out?: Uint16Array | Uint32Array): Uint16Array | Uint32Array {
    checkInt('symbol count', count, 0, 2 ** 32 - 1);
    if (count > 0 && this.minLength === 0)
      throw new FormatError('corrupt', `${count} symbols are claimed but the Huffman table is empty.`);
    if (count * this.minLength > r.remaining) {
      throw new FormatError(
        'truncated',
        `${count} Huffman symbols need at least ${count * this.minLength} bits but only ${r.remaining} remain.`,
      );
    }
    const dst = out ?? (this.lengths.length <= 65536 ? new Uint16Array(count) : new Uint32Array(count));
    if (dst.length < count)
      throw new FormatError(
        'invalid-argument',
        `the output holds ${dst.length} symbols, ${count} are needed.`,
      );
    const { table, multi } = this;
    const bytes = r.bytes;
    const mask = (1 << TABLE_BITS) - 1;
    const symbolMask = (1 << MULTI_SYMBOL_BITS) - 1;
    const start = r.position;
    const limit = start + r.remaining;
    let bytePos = start >>> 3;
    let buf = bytes[bytePos++]! >>> (start & 7);
    let bits = 8 - (start & 7);
    // Reads past the end give 0 bits; the position check after the loop catches a stream that needed them.
    for (let i = 0; i < count; ) {
      while (bits <= 24) {
        buf |= bytes[bytePos++]! << bits;
        bits += 8;
      }
      if (multi) {
        // Up to three symbols per look-up while a full window is buffered and all three slots are
        // inside the output (unused slots are overwritten by the next symbols).
        while (bits >= TABLE_BITS && i + MULTI <= count) {
          const e = multi[buf & mask]!;
          if (e === 0) break;
          dst[i] = (e >>> 7) & symbolMask;
          dst[i + 1] = (e >>> (7 + MULTI_SYMBOL_BITS)) & symbolMask;
          dst[i + 2] = e >>> (7 + 2 * MULTI_SYMBOL_BITS);
          i += (e >>> 5) & 3;
          const len = e & 31;
          buf >>>= len;
          bits -= len;
        }
        if (i >= count) break;
        // the single-symbol path below (long codes, bad patterns, the last symbols) needs a full buffer
        if (bits <= 24) continue;
      }
      let e = table[buf & mask]!;
      let len = e & 31;
      let sym = e >>> 5;
      if (len === LONG) {
        [sym, len] = this.slowDecode(buf);
      } else if (len === 0) {
        throw new FormatError(
          'corrupt',
          `the bit pattern at symbol ${i} is not a code of this Huffman table.`,
        );
      }
      dst[i++] = sym;
      buf >>>= len;
      bits -= len;
      // Further short codes usually fit in what is left of the buffer: decode them without a refill.
      while (!multi && bits >= TABLE_BITS && i < count) {
        e = table[buf & mask]!;
        len = e & 31;
        if (len === LONG || len === 0) break;
        dst[i++] = e >>> 5;
        buf >>>= len;
        bits -= len;
      }
    }
    const end = bytePos * 8 - bits;
    if (end > limit) {
      throw new FormatError(
        'truncated',
        `the Huffman stream needs ${end - start} bits but only ${limit - start} remain.`,
      );
    }
    r.seek(end);
    return dst;
  }

  private slowDecode(buf: number): [number, number] {
    let code = 0;
    for (let l = 1; l <= this.maxLength; l++) {
      code = (code << 1) | ((buf >>> (l - 1)) & 1);
      const offset = code - this.firstCode[l]!;
      if (this.counts[l]! > 0 && offset >= 0 && offset < this.counts[l]!) {
        return [this.sorted[this.firstIndex[l]! + offset]!, l];
      }
    }
    throw new FormatError('corrupt', 'a bit pattern in the stream is not a code of this Huffman table.');
  }
}
