import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.js';

describe('crc32', () => {
  it('matches the standard check value, zlib, and chains', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const ours = crc32(bytes);
        expect(ours).toBe(zlibCrc32(bytes));
        expect(crc32(bytes.subarray(bytes.length >> 1), crc32(bytes.subarray(0, bytes.length >> 1)))).toBe(
          ours,
        );
      }),
    );
  });
});
