import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

// The files the MNIST scripts pass between machines: gzipped IDX files (the GPU machine has no npm
// packages) and trained weights as JSON of base64 float32 arrays.

/** One gzipped MNIST IDX file (`name`.gz in `dir`), uncompressed. */
export function readIdxGz(dir: string, name: string): Uint8Array {
  return new Uint8Array(gunzipSync(readFileSync(join(dir, `${name}.gz`))));
}

export function weightsToJson(weights: Readonly<Record<string, Float32Array>>): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.entries(weights).map(([k, v]) => [k, Buffer.from(v.buffer).toString('base64')]),
    ),
  );
}

export function weightsFromJson(file: string): Record<string, Float32Array> {
  return Object.fromEntries(
    Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>).map(([k, v]) => {
      const b = Buffer.from(v, 'base64');
      // a copy: a decoded Buffer may sit at an offset that float32 views cannot start at
      return [k, new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length))];
    }),
  );
}
