export {
  CONV_OPS,
  type Compressed,
  type CompressOptions,
  compressModel,
  type LayerRow,
  WEIGHT_LAYER_OPS,
} from './compress.js';
export { fuseConvPoolSign } from './conv-pool-sign-fusion.js';
export { checkInputs, runCpu } from './cpu-session.js';
export { RuntimeError, type RuntimeErrorCode } from './errors.js';
export {
  type AttributeValue,
  attrNumber,
  attrNumbers,
  attrString,
  type Graph,
  type GraphInput,
  type GraphNode,
} from './graph.js';
export { readNpy, writeNpy } from './npy.js';
export { type ImportOptions, importOnnx, MAX_OPSET, MIN_OPSET } from './onnx.js';
export { exportOnnx } from './onnx-export.js';
export { isSupportedOp, SUPPORTED_OPS } from './ops/registry.js';
export {
  foldBatchNorm,
  foldConstants,
  fuseActivations,
  fuseResidualAdds,
  optimize,
  removeIdentities,
  removeUnused,
} from './passes.js';
export { fusePoolConvs } from './pool-conv-fusion.js';
export { fuseQuantConvPool } from './quant-conv-pool-fusion.js';
export {
  binarizeSignConvs,
  foldQuantThresholds,
  foldSignInputs,
  fuseQuantEpilogues,
} from './quant-passes.js';
export { inferShapes, type ValueInfo } from './shape-inference.js';
export { DTYPES, type DType, float32, int64, type Tensor, tensor } from './tensor.js';
export {
  type CompileOptions,
  type PlanCache,
  type PlanEntry,
  type PlanMode,
  type SessionProfile,
  type TuneOptions,
  WebGpuSession,
  type WebGpuSessionOptions,
} from './webgpu-session.js';
export { decodeWeight, encodeWeight, type WeightEncoding } from './weight-encoding.js';
export type { BuildOptions } from './zoo/builder.js';
export { parameterCount, ZOO, type ZooEntry } from './zoo/models.js';
export {
  type DecodeZskAsyncOptions,
  type DecodeZskOptions,
  decodeZsk,
  decodeZskAsync,
  encodeZsk,
  type ZskModel,
} from './zsk.js';
