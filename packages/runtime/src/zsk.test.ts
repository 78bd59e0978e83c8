import { readFileSync } from 'node:fs';
import { crc32, FormatError } from '@zeroskip/sparse';
import { describe, expect, it } from 'vitest';
import { compressModel } from './compress.js';
import { runCpu } from './cpu-session.js';
import { RuntimeError } from './errors.js';
import type { Graph } from './graph.js';
import { readNpy } from './npy.js';
import { importOnnx } from './onnx.js';
import { optimize } from './passes.js';
import { float32 } from './tensor.js';
import { decodeWeight, encodeWeight } from './weight-encoding.js';
import { decodeZsk, decodeZskAsync, encodeZsk } from './zsk.js';

const MODELS = new URL('../../../../shared/models/', import.meta.url);
const load = (f: string) => new Uint8Array(readFileSync(new URL(f, MODELS)));
const lenet = optimize(importOnnx(load('lenet5.onnx')));
const input = readNpy(load('lenet5.input.npy'));
const out = (g: Graph) => runCpu(g, { input }).output!.data as Float32Array;

function sameWeights(a: Graph, b: Graph): void {
  expect([...b.initializers.keys()].sort()).toEqual([...a.initializers.keys()].sort());
  for (const [name, t] of a.initializers) {
    const u = b.initializers.get(name)!;
    expect(u.shape).toEqual(t.shape);
    expect(
      Buffer.from(new Float64Array(u.data).buffer).equals(Buffer.from(new Float64Array(t.data).buffer)),
      name,
    ).toBe(true);
  }
}

describe('compress → .zsk → run', () => {
  it('lossless settings (prune; prune + Huffman) reproduce the pruned model to 1e-5', () => {
    for (const huffman of [false, true]) {
      const c = compressModel(lenet, { prune: 0.9, huffman });
      const back = decodeZsk(encodeZsk(c.graph, c.encodings, c.meta));
      sameWeights(c.graph, back.graph);
      const want = out(c.graph);
      const got = out(back.graph);
      expect(Math.max(...got.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThanOrEqual(1e-5);
      // the pruned weights are the magnitude-pruned originals
      const conv1 = lenet.initializers.get('c1.weight')!.data;
      back.graph.initializers.get('c1.weight')!.data.forEach((v, i) => {
        expect(v === 0 || v === conv1[i]).toBe(true);
      });
    }
  });

  it('clustered models equal the model with dequantized weights; the table follows Deep Compression', () => {
    const c = compressModel(lenet, {
      pruneTable: { '/c1/Conv': 0.3, '/c2/Conv': 0.8 },
      prune: 0.9,
      cluster: { conv: 8, fc: 5 },
      huffman: true,
    });
    const bytes = encodeZsk(c.graph, c.encodings, c.meta);
    const back = decodeZsk(bytes);
    sameWeights(c.graph, back.graph);
    expect(out(back.graph)).toEqual(out(c.graph));
    // a decoded file re-encodes to itself: the codebooks travel with the decoded encodings
    expect(encodeZsk(back.graph, back.encodings, back.meta)).toEqual(bytes);
    const conv1 = c.rows.find((r) => r.layer === '/c1/Conv')!;
    expect(conv1.kept).toBeCloseTo(0.7, 2);
    expect(new Set(c.graph.initializers.get('c1.weight')!.data).size).toBeLessThanOrEqual(257);
    const fc = c.rows.find((r) => r.kind === 'fc')!;
    expect(
      new Set(c.graph.initializers.get(c.graph.nodes.find((n) => n.name === fc.layer)!.inputs[1]!)!.data)
        .size,
    ).toBeLessThanOrEqual(33);
    expect(c.total.ratio).toBeGreaterThan(10);
    expect(bytes.length).toBeLessThan(c.total.denseBytes / 8);
    for (const r of c.rows) expect(r.weightBits).toBeLessThan(r.kind === 'conv' ? 8.5 : 5.5);
  });

  it('binary, ternary and DoReFa layers round-trip exactly; first and last layers stay full precision', () => {
    const layers = lenet.nodes.filter((n) => n.op === 'Conv' || n.op === 'Gemm');
    const middle = layers.slice(1, -1).map((n) => n.name);
    for (const opts of [
      { binarize: 'all' as const },
      { ternary: middle },
      { dorefa: { weights: 2, activations: 4 } },
    ]) {
      const c = compressModel(lenet, opts);
      const back = decodeZsk(encodeZsk(c.graph, c.encodings, c.meta));
      sameWeights(c.graph, back.graph);
      expect(c.rows[0]!.encoding).toBe('raw');
      expect(c.rows.at(-1)!.encoding).toBe('raw');
      const values = new Set(c.graph.initializers.get(layers[2]!.inputs[1]!)!.data.map((v) => Math.abs(v)));
      expect(values.size).toBeLessThanOrEqual('dorefa' in opts ? 4 : 120);
    }
  });

  it('global pruning applies one threshold across layers', () => {
    const c = compressModel(lenet, { prune: 0.9, pruneGlobal: true });
    const kept = c.rows.reduce((n, r) => n + r.kept * r.params, 0) / c.total.params;
    expect(kept).toBeCloseTo(0.1, 3);
    expect(new Set(c.rows.map((r) => r.kept.toFixed(2))).size).toBeGreaterThan(1);
  });

  it('names unknown layers and rejects non-quantized tensors', () => {
    expect(() => compressModel(lenet, { binarize: ['/nope'] })).toThrow(/no weight layer is named '\/nope'/);
  });
});

/** xorshift for the fuzzer. */
function rand(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

function mutate(bytes: Uint8Array, r: (n: number) => number): Uint8Array {
  const m = r(4);
  if (m === 0) return bytes.subarray(0, r(bytes.length)); // truncate
  const out = bytes.slice();
  const flips = 1 + r(8);
  for (let i = 0; i < flips; i++) {
    const at = r(out.length);
    out[at] = m === 1 ? r(256) : m === 2 ? out[at]! ^ (1 << r(8)) : [0, 0xff, 0x7f, 0x80][r(4)]!;
  }
  return out;
}

describe('decodeZskAsync', () => {
  const files = [
    compressModel(lenet, { prune: 0.9, cluster: 5, huffman: true }),
    compressModel(lenet, { prune: 0.8 }),
    compressModel(lenet, { binarize: 'all' }),
    compressModel(lenet, { ternary: 'all', prune: 0.5 }),
    compressModel(lenet, {}),
  ].map((c) => encodeZsk(c.graph, c.encodings, c.meta));

  it('returns the model decodeZsk decodes, to the same bytes when re-encoded', async () => {
    for (const [i, bytes] of files.entries()) {
      const want = decodeZsk(bytes);
      const got = await decodeZskAsync(bytes, { workers: 1 + (i % 2) });
      sameWeights(want.graph, got.graph);
      expect(got.graph.nodes).toEqual(want.graph.nodes);
      expect(encodeZsk(got.graph, got.encodings, got.meta)).toEqual(bytes);
    }
  });

  it('decodes one packed tensor from a Node Buffer as from a plain array', () => {
    const cases = [
      ['binary', [0.5, -0.5, 0.5, -2, 2, 2]],
      ['ternary', [0.5, 0, -0.5, 0, 0.5, 0.5]],
    ] as const;
    for (const [kind, values] of cases) {
      const t = float32([2, 3], Float32Array.from(values));
      const bytes = encodeWeight(t, { kind }, 'w');
      for (const b of [Buffer.from(bytes), Buffer.concat([Buffer.alloc(1), bytes]).subarray(1)])
        expect(Array.from(decodeWeight(b, 'float32', [2, 3], { kind }, 6).data)).toEqual(values);
    }
  });

  it('reads Node Buffers as readFileSync gives them (views of a shared pool, at any offset) like plain arrays', async () => {
    for (const bytes of files) {
      const want = decodeZsk(bytes);
      // Buffer.from copies small files into the shared pool; the subarray starts at an odd offset
      const pooled = Buffer.from(bytes);
      const unaligned = Buffer.concat([Buffer.alloc(1), bytes]).subarray(1);
      for (const b of [pooled, unaligned]) {
        sameWeights(want.graph, decodeZsk(b).graph);
        sameWeights(want.graph, (await decodeZskAsync(b, { workers: 1 })).graph);
      }
    }
  });

  it('refuses what decodeZsk refuses, with typed errors, and accepts what it accepts', async () => {
    const r = rand(11);
    for (let i = 0; i < 60; i++) {
      const bytes = reseal(mutate(files[0]!, r));
      const outcome = (f: () => unknown) => {
        try {
          f();
          return 'ok';
        } catch (e) {
          if (!(e instanceof RuntimeError || e instanceof FormatError)) throw e;
          return 'refused';
        }
      };
      const want = outcome(() => decodeZsk(bytes));
      const got = await decodeZskAsync(bytes, { workers: 1 }).then(
        () => 'ok',
        (e) => {
          if (!(e instanceof RuntimeError || e instanceof FormatError)) throw e;
          return 'refused';
        },
      );
      expect(got, `mutation ${i}`).toBe(want);
    }
  });
});

describe('fuzzing: 10 000 mutated .zsk and ONNX files give only typed errors', () => {
  it('.zsk, including mutations behind valid checksums', () => {
    const c = compressModel(lenet, { prune: 0.9, cluster: 5, huffman: true });
    const good = encodeZsk(c.graph, c.encodings, c.meta);
    const r = rand(42);
    let accepted = 0;
    for (let i = 0; i < 10_000; i++) {
      let bytes = mutate(good, r);
      // half of the cases re-seal the damaged file so that the parser behind the CRC is exercised
      if (i % 2 === 1 && bytes.length === good.length) bytes = reseal(bytes);
      try {
        const m = decodeZsk(bytes);
        accepted++;
        let elements = 0;
        for (const t of m.graph.initializers.values()) elements += t.data.length;
        expect(elements).toBeLessThanOrEqual(64 * bytes.length + 2 ** 20);
      } catch (e) {
        if (!(e instanceof RuntimeError || e instanceof FormatError)) throw e;
      }
    }
    expect(accepted).toBeLessThan(10_000);
  });

  it('ONNX', () => {
    const good = load('lenet5.onnx');
    const r = rand(7);
    for (let i = 0; i < 10_000; i++) {
      try {
        importOnnx(mutate(good, r));
      } catch (e) {
        if (!(e instanceof RuntimeError)) throw e;
      }
    }
  });
});

/** Recomputes every section checksum of a (damaged) .zsk file. */
function reseal(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(8, true);
  if (16 + 16 * count > bytes.length) return bytes;
  for (let i = 0; i < count; i++) {
    const at = 16 + 16 * i;
    const offset = view.getUint32(at + 4, true);
    const length = view.getUint32(at + 8, true);
    if (offset + length <= bytes.length)
      view.setUint32(at + 12, crc32(bytes.subarray(offset, offset + length)), true);
  }
  return bytes;
}
