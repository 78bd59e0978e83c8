import { checkInt, FormatError } from './errors.js';

/*
 * Bit order (the same as DEFLATE): bits fill each byte from its least significant bit up, and a
 * field's value is written least significant bit first. A field of n bits written at bit position p
 * therefore occupies bits p .. p+n-1 of the stream, where stream bit q is bit (q mod 8) of byte ⌊q/8⌋.
 * Huffman codes are the one exception: they are written most significant bit first (huffman.ts).
 */

/** Appends fields of 1..32 bits to a growing byte buffer. */
export class BitWriter {
  private bytes = new Uint8Array(64);
  private byteLen = 0;
  private acc = 0;
  private accBits = 0;

  /** Writes the low `bits` bits of `value`; `value` must fit in them. */
  write(value: number, bits: number): void {
    if (!(bits >= 1 && bits <= 32) || !Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
      checkInt('bits', bits, 1, 32);
      throw new FormatError('invalid-argument', `value ${value} does not fit in ${bits} bits.`);
    }
    if (bits > 24) {
      this.writeUnchecked(value & 0xffff, 16);
      this.writeUnchecked(Math.floor(value / 65536), bits - 16);
    } else {
      this.writeUnchecked(value, bits);
    }
  }

  /** For callers that guarantee 1 ≤ bits ≤ 24 and 0 ≤ value < 2^bits (the Huffman encoder's inner loop). */
  writeUnchecked(value: number, bits: number): void {
    this.acc |= value << this.accBits;
    this.accBits += bits;
    while (this.accBits >= 8) {
      if (this.byteLen === this.bytes.length) this.grow();
      this.bytes[this.byteLen++] = this.acc & 0xff;
      this.acc >>>= 8;
      this.accBits -= 8;
    }
  }

  /** Pads with zero bits to the next byte boundary. */
  alignToByte(): void {
    if (this.accBits > 0) this.writeUnchecked(0, 8 - this.accBits);
  }

  /** Appends whole bytes (aligning first). */
  writeBytes(data: Uint8Array): void {
    this.alignToByte();
    while (this.byteLen + data.length > this.bytes.length) this.grow();
    this.bytes.set(data, this.byteLen);
    this.byteLen += data.length;
  }

  get bitLength(): number {
    return this.byteLen * 8 + this.accBits;
  }

  /** The stream so far, its last byte zero-padded; the writer stays usable. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.byteLen + (this.accBits > 0 ? 1 : 0));
    out.set(this.bytes.subarray(0, this.byteLen));
    if (this.accBits > 0) out[this.byteLen] = this.acc & 0xff;
    return out;
  }

  private grow(): void {
    const next = new Uint8Array(this.bytes.length * 2);
    next.set(this.bytes);
    this.bytes = next;
  }
}

/** Reads fields of 1..32 bits; reading past the end throws a `truncated` {@link FormatError}. */
export class BitReader {
  private pos: number;
  private readonly end: number;

  constructor(
    readonly bytes: Uint8Array,
    bitOffset = 0,
    bitLength = bytes.length * 8 - bitOffset,
  ) {
    checkInt('bitOffset', bitOffset, 0, bytes.length * 8);
    checkInt('bitLength', bitLength, 0, bytes.length * 8 - bitOffset);
    this.pos = bitOffset;
    this.end = bitOffset + bitLength;
  }

  /** Current position in bits from the start of `bytes`. */
  get position(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  read(bits: number): number {
    if (!(bits >= 1 && bits <= 32)) checkInt('bits', bits, 1, 32);
    this.need(bits);
    let result = 0;
    let got = 0;
    while (got < bits) {
      const off = this.pos & 7;
      const take = Math.min(8 - off, bits - got);
      const part = (this.bytes[this.pos >>> 3]! >>> off) & ((1 << take) - 1);
      result += part * 2 ** got;
      got += take;
      this.pos += take;
    }
    return result;
  }

  /** Reads `out.length` consecutive fields of `bits` (1..16) bits each into `out`, as {@link read} would. */
  readFields(bits: number, out: Uint16Array): Uint16Array {
    checkInt('bits', bits, 1, 16);
    this.need(out.length * bits);
    const bytes = this.bytes;
    const mask = (1 << bits) - 1;
    // a local bit buffer: at most 15 bits are left over before a refill, so it never exceeds 23 bits
    let bytePos = this.pos >>> 3;
    let have = 0;
    let buf = 0;
    if (this.pos & 7) {
      have = 8 - (this.pos & 7);
      buf = bytes[bytePos++]! >>> (this.pos & 7);
    }
    for (let i = 0; i < out.length; i++) {
      while (have < bits) {
        buf |= bytes[bytePos++]! << have;
        have += 8;
      }
      out[i] = buf & mask;
      buf >>>= bits;
      have -= bits;
    }
    this.pos += out.length * bits;
    return out;
  }

  /** Moves to `bitPosition`, which must lie within the readable range. */
  seek(bitPosition: number): void {
    checkInt('bit position', bitPosition, 0, this.end);
    this.pos = bitPosition;
  }

  alignToByte(): void {
    const aligned = (this.pos + 7) & ~7;
    this.need(aligned - this.pos);
    this.pos = aligned;
  }

  /** Reads `n` whole bytes (aligning first) as a view into the input. */
  readBytes(n: number): Uint8Array {
    this.alignToByte();
    this.need(n * 8);
    const start = this.pos >>> 3;
    this.pos += n * 8;
    return this.bytes.subarray(start, start + n);
  }

  /** Throws unless `bits` more bits remain. */
  need(bits: number): void {
    if (bits > this.end - this.pos) {
      throw new FormatError(
        'truncated',
        `the bit stream ends after ${this.end - this.pos} more bits but ${bits} are needed; the data is truncated.`,
      );
    }
  }
}
