import { crc32, decodeWeightPayloadsCsr, PayloadScratch, type WorkerDecodeOptions } from '@zeroskip/sparse';
import { RuntimeError } from './errors.js';
import type { AttributeValue, Graph, GraphInput, GraphNode } from './graph.js';
import { DTYPES, type DType, sizeOf, type Tensor } from './tensor.js';
import { validateGraph } from './validate.js';
import {
  checkStoredWeight,
  decodeStoredWeight,
  encodeWeight,
  type StoredWeight,
  sparseStoredWeight,
  type WeightEncoding,
} from './weight-encoding.js';

/*
 * .zsk, version 1 (README: "The .zsk format"). Little-endian throughout.
 *   header (16 bytes): magic "ZSK\0", version u16, reserved u16 (0), section count u32, reserved u32 (0)
 *   section table: count × { kind u32, offset u32, length u32, crc32 u32 }
 *   sections: kind 1 = the graph (UTF-8 JSON), kind 2 = one tensor's bytes (its encoding is named in the
 *   graph), kind 3 = metadata (UTF-8 JSON, free-form: how the model was compressed).
 */
const MAGIC = 0x004b535a; // "ZSK\0"
const VERSION = 1;
const HEADER = 16;
const ENTRY = 16;
export const SECTION = { graph: 1, tensor: 2, meta: 3 } as const;

interface TensorRecord {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: number[];
  readonly section: number;
  readonly encoding: WeightEncodingJson;
}
type WeightEncodingJson =
  | Omit<Extract<WeightEncoding, { kind: 'sparse' }>, 'codebook'>
  | Exclude<WeightEncoding, { kind: 'sparse' }>;

interface GraphJson {
  readonly opset: number;
  readonly inputs: GraphInput[];
  readonly outputs: string[];
  readonly nodes: {
    op: string;
    name: string;
    inputs: string[];
    outputs: string[];
    attrs: Record<string, AttributeValue | { tensor: string }>;
  }[];
  readonly tensors: TensorRecord[];
}

export interface ZskModel {
  readonly graph: Graph;
  readonly encodings: ReadonlyMap<string, WeightEncoding>;
  readonly meta: unknown;
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && 'dtype' in v && 'data' in v;
}

/** Serialises a graph whose constant tensors are stored with `encodings` (raw where none is given). */
export function encodeZsk(
  graph: Graph,
  encodings: ReadonlyMap<string, WeightEncoding> = new Map(),
  meta: unknown = {},
): Uint8Array {
  const sections: { kind: number; bytes: Uint8Array }[] = [];
  const tensors: TensorRecord[] = [];
  const addTensor = (name: string, t: Tensor) => {
    const e = encodings.get(name) ?? { kind: 'raw' };
    sections.push({ kind: SECTION.tensor, bytes: encodeWeight(t, e, name) });
    const { codebook: _codebook, ...json } = e as Extract<WeightEncoding, { kind: 'sparse' }>;
    tensors.push({
      name,
      dtype: t.dtype,
      shape: [...t.shape],
      section: sections.length,
      encoding: json as WeightEncodingJson,
    });
  };
  for (const [name, t] of graph.initializers) addTensor(name, t);
  const nodes = graph.nodes.map((n) => ({
    ...n,
    attrs: Object.fromEntries(
      Object.entries(n.attrs).map(([k, v]) => {
        if (!isTensor(v)) return [k, v];
        const ref = `${n.name}::${k}`;
        addTensor(ref, v);
        return [k, { tensor: ref }];
      }),
    ),
  }));
  const json: GraphJson = {
    opset: graph.opset,
    inputs: graph.inputs,
    outputs: graph.outputs,
    nodes,
    tensors,
  };
  const text = new TextEncoder();
  const all = [
    { kind: SECTION.graph, bytes: text.encode(JSON.stringify(json)) },
    ...sections,
    { kind: SECTION.meta, bytes: text.encode(JSON.stringify(meta)) },
  ];
  const tableEnd = HEADER + ENTRY * all.length;
  const size = all.reduce((n, s) => n + s.bytes.length, tableEnd);
  if (size > 0xffffffff)
    throw new RuntimeError(
      'invalid-argument',
      `the model needs ${size} bytes; .zsk files are limited to 4 GiB.`,
    );
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint16(4, VERSION, true);
  view.setUint32(8, all.length, true);
  let offset = tableEnd;
  all.forEach((s, i) => {
    const at = HEADER + ENTRY * i;
    view.setUint32(at, s.kind, true);
    view.setUint32(at + 4, offset, true);
    view.setUint32(at + 8, s.bytes.length, true);
    view.setUint32(at + 12, crc32(s.bytes), true);
    out.set(s.bytes, offset);
    offset += s.bytes.length;
  });
  return out;
}

export interface DecodeZskOptions {
  /** Largest number of tensor elements a file may expand to, per byte of file (default 64, plus 2^20). */
  readonly maxExpansion?: number;
}

/** {@link decodeZskAsync}'s options: `workers` and `workerUrl` as `@zeroskip/sparse`'s `WorkerDecodeOptions`. */
export interface DecodeZskAsyncOptions extends DecodeZskOptions, WorkerDecodeOptions {}

function corrupt(why: string): never {
  throw new RuntimeError('corrupt-file', `not a valid .zsk file: ${why}.`);
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string');

/** A tensor's record, checked, with its section's bytes and the elements it may still expand to. */
interface StoredTensor {
  readonly record: TensorRecord;
  readonly bytes: Uint8Array;
  readonly maxElements: number;
}

/** A file read up to its tensors' payloads: sections checked, JSON parsed, every record validated. */
interface ZskContents {
  readonly json: GraphJson;
  readonly meta: unknown;
  readonly tensors: readonly StoredTensor[];
}

/** Reads and validates a .zsk file: every checksum, every size, every reference. */
export function decodeZsk(bytes: Uint8Array, options: DecodeZskOptions = {}): ZskModel {
  const contents = readZsk(bytes, options);
  const scratch = new PayloadScratch();
  return assembleZsk(
    contents,
    contents.tensors.map(({ record: r, bytes, maxElements }) =>
      decodeStoredWeight(bytes, r.dtype, r.shape, r.encoding as WeightEncoding, maxElements, scratch),
    ),
  );
}

/**
 * {@link decodeZsk}, with the sparse payloads (nearly all of a pruned network's bytes) shared between
 * this thread and worker threads or Web Workers (`decodeWeightPayloadsCsr` of `@zeroskip/sparse`),
 * while this thread also decodes the other tensors: a large network decodes sooner, and this thread
 * yields to its event loop between payloads. The same checks, the same model; `workers: 0` decodes
 * everything here.
 */
export async function decodeZskAsync(
  bytes: Uint8Array,
  options: DecodeZskAsyncOptions = {},
): Promise<ZskModel> {
  const contents = readZsk(bytes, options);
  const { tensors } = contents;
  const sparse = tensors.flatMap((t, i) => (t.record.encoding.kind === 'sparse' ? [i] : []));
  // the records of sparse tensors are checked before any worker starts; the others as they decode
  for (const i of sparse) {
    const { record: r, maxElements } = tensors[i]!;
    checkStoredWeight(r.dtype, r.shape, r.encoding as WeightEncoding, maxElements);
  }
  const payloads = decodeWeightPayloadsCsr(
    sparse.map((i) => ({ bytes: tensors[i]!.bytes, maxElements: tensors[i]!.maxElements })),
    options,
  );
  // its rejection is handled where it is awaited; this keeps it from counting as unhandled meanwhile
  payloads.catch(() => {});
  const weights = tensors.map(({ record: r, bytes, maxElements }) =>
    r.encoding.kind === 'sparse'
      ? undefined
      : decodeStoredWeight(bytes, r.dtype, r.shape, r.encoding, maxElements),
  );
  (await payloads).forEach((payload, k) => {
    const { shape, encoding } = tensors[sparse[k]!]!.record;
    weights[sparse[k]!] = sparseStoredWeight(shape, encoding as SparseEncoding, payload);
  });
  return assembleZsk(contents, weights as StoredWeight[]);
}

type SparseEncoding = Extract<WeightEncoding, { kind: 'sparse' }>;

/** Everything of a .zsk file but its tensors' payloads: checksums, JSON, records, size budgets. */
function readZsk(file: Uint8Array, options: DecodeZskOptions): ZskContents {
  // a Node Buffer's slice is a view of a shared pool: as a plain array, every slice below is a copy
  const bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  if (bytes.length < HEADER) corrupt(`${bytes.length} bytes is shorter than the header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) corrupt('the magic number is missing');
  const version = view.getUint16(4, true);
  if (version !== VERSION)
    throw new RuntimeError(
      'corrupt-file',
      `.zsk version ${version} is not supported; this reader knows version ${VERSION}.`,
    );
  const count = view.getUint32(8, true);
  if (count < 2 || HEADER + ENTRY * count > bytes.length)
    corrupt(`a table of ${count} sections does not fit the file`);
  const sections = Array.from({ length: count }, (_, i) => {
    const at = HEADER + ENTRY * i;
    const [kind, offset, length, crc] = [0, 4, 8, 12].map((o) => view.getUint32(at + o, true)) as [
      number,
      number,
      number,
      number,
    ];
    if (offset < HEADER + ENTRY * count || offset + length > bytes.length)
      corrupt(`section ${i} lies outside the file`);
    const data = bytes.subarray(offset, offset + length);
    if (crc32(data) !== crc) corrupt(`section ${i} fails its CRC-32 check (the file is damaged)`);
    return { kind, data };
  });
  if (sections[0]!.kind !== SECTION.graph) corrupt('the first section is not the graph');
  let json: GraphJson;
  let meta: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true });
    json = JSON.parse(text.decode(sections[0]!.data));
    meta = JSON.parse(
      text.decode(sections.find((s) => s.kind === SECTION.meta)?.data ?? new TextEncoder().encode('{}')),
    );
  } catch {
    corrupt('the graph or metadata is not valid JSON');
  }
  if (
    typeof json !== 'object' ||
    json === null ||
    !Array.isArray(json.nodes) ||
    !Array.isArray(json.tensors) ||
    !Array.isArray(json.inputs) ||
    !isStringArray(json.outputs) ||
    typeof json.opset !== 'number'
  )
    corrupt('the graph lacks nodes, tensors, inputs, outputs or opset');
  let budget = (options.maxExpansion ?? 64) * bytes.length + 2 ** 20;
  const tensors: StoredTensor[] = [];
  for (const r of json.tensors) {
    if (
      typeof r?.name !== 'string' ||
      !Array.isArray(r.shape) ||
      !r.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      !(DTYPES as readonly unknown[]).includes(r.dtype)
    )
      corrupt('a tensor record is malformed');
    const s = sections[r.section];
    if (!Number.isInteger(r.section) || !s || s.kind !== SECTION.tensor)
      corrupt(`tensor '${r.name}' points at section ${r.section}, which is not a tensor`);
    if (!['raw', 'sparse', 'binary', 'ternary', 'dorefa'].includes(r.encoding?.kind))
      corrupt(`tensor '${r.name}' has an unknown encoding`);
    tensors.push({ record: r, bytes: s.data, maxElements: budget });
    // counted from the shape: sparse tensors expand their values only when read
    budget -= sizeOf(r.shape);
  }
  return { json, meta, tensors };
}

/** The model of a file read by {@link readZsk}, whose tensors decoded to `weights`, in order. */
function assembleZsk({ json, meta, tensors }: ZskContents, weights: readonly StoredWeight[]): ZskModel {
  const stored = new Map<string, Tensor>();
  const encodings = new Map<string, WeightEncoding>();
  tensors.forEach(({ record }, i) => {
    stored.set(record.name, weights[i]!.tensor);
    encodings.set(record.name, weights[i]!.encoding);
  });
  const nodes: GraphNode[] = json.nodes.map((n, i) => {
    if (
      typeof n?.op !== 'string' ||
      typeof n.name !== 'string' ||
      !isStringArray(n.inputs) ||
      !isStringArray(n.outputs) ||
      typeof n.attrs !== 'object' ||
      n.attrs === null
    )
      corrupt(`node ${i} is malformed`);
    const attrs = Object.fromEntries(
      Object.entries(n.attrs).map(([k, v]) => {
        if (typeof v === 'object' && v !== null && !Array.isArray(v) && 'tensor' in v) {
          const t = stored.get(String(v.tensor));
          if (!t) corrupt(`node '${n.name}' refers to a missing tensor`);
          stored.delete(String(v.tensor));
          return [k, t];
        }
        return [k, v as AttributeValue];
      }),
    );
    return { op: n.op, name: n.name, inputs: n.inputs, outputs: n.outputs, attrs };
  });
  const inputs = json.inputs.map((i) => {
    if (
      typeof i?.name !== 'string' ||
      !Array.isArray(i.shape) ||
      !(DTYPES as readonly unknown[]).includes(i.dtype)
    )
      corrupt('an input record is malformed');
    return { name: i.name, dtype: i.dtype as DType, shape: i.shape.map(Number) };
  });
  const graph: Graph = { nodes, initializers: stored, inputs, outputs: json.outputs, opset: json.opset };
  validateGraph(graph);
  return { graph, encodings, meta };
}
