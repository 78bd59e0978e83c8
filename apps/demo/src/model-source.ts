import { decodeZsk, type Graph, importOnnx, optimize, parameterCount, ZOO } from '@zeroskip/runtime';

/** The model the panels work on: optimized as the CLI does before compressing or running. */
export interface Model {
  readonly name: string;
  readonly graph: Graph;
  readonly params: number;
}

function model(name: string, graph: Graph): Model {
  const g = optimize(graph);
  return { name, graph: g, params: parameterCount(g) };
}

/** A model from the bytes of an .onnx or .zsk file. */
export function modelFromFile(name: string, bytes: Uint8Array): Model {
  const lower = name.toLowerCase();
  if (lower.endsWith('.zsk')) return model(name, decodeZsk(bytes).graph);
  if (lower.endsWith('.onnx')) return model(name, importOnnx(bytes));
  throw new Error(`'${name}' is neither an .onnx nor a .zsk file; choose one of those.`);
}

/** A zoo architecture with seeded weights, at its own input size or `size`. */
export function modelFromZoo(name: string, size?: number): Model {
  const entry = ZOO[name];
  if (!entry) throw new Error(`the zoo has no model '${name}'; pick one from the list.`);
  return model(name, entry.build({ seed: 1, ...(size ? { size } : {}) }));
}

export const ZOO_NAMES = Object.keys(ZOO);
export const zooDescription = (name: string) => ZOO[name]?.description ?? '';
