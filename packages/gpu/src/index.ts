export { binaryWeightPlanes, dorefaWeightPlanes, ternaryWeightPlanes } from './bit-weights.js';
export {
  type AdapterSummary,
  type DeviceFeatures,
  type DeviceLimits,
  Gpu,
  type ProfileResult,
  type RequestDeviceOptions,
  requestDevice,
} from './device.js';
export { GpuError, type GpuErrorCode } from './errors.js';
export { type ConvGeometry, type ConvParams, convGeometry } from './geometry.js';
export {
  type BitEncoding,
  type BitwiseConvBuffers,
  type BitwiseKind,
  encodeBitwiseConv,
  encodeBitwiseConvSign,
  encodePackBits,
  planeCount,
  signThresholds,
} from './kernels/bitwise.js';
export {
  type ConvBuffers,
  encodeDepthwiseConv,
  encodeIm2col,
  encodeIm2colGemmConv,
  encodeImplicitGemmConv,
} from './kernels/gemm-conv.js';
export {
  BINARY_OPS,
  type BinaryOp,
  batchNormScaleShift,
  broadcastShape,
  encodeActivation,
  encodeAxisGather,
  encodeBinary,
  encodeChannelAffine,
  encodeChannelShuffle,
  encodeConcatInto,
  encodeGlobalAvgPool,
  encodeParamActivation,
  encodePool,
  encodeSoftmax,
  encodeTranspose,
  PARAM_ACTIVATIONS,
  type ParamActivation,
  type PoolParams,
  poolOutput,
} from './kernels/ops.js';
export {
  encodeDirectSparseConv,
  encodeIm2colSpmmConv,
  encodePad,
  type SparseConvBuffers,
  type SpmmConvBuffers,
} from './kernels/sparse-conv.js';
export { encodeSparseFc, type SparseFcBuffers } from './kernels/sparse-fc.js';
export type { ValueSource } from './kernels/values.js';
export {
  CONV_ALGORITHMS,
  Conv2dLayer,
  type Conv2dSpec,
  type ConvAlgorithm,
  chooseConvAlgorithm,
  FcLayer,
  type FcSpec,
  type SharedWeights,
  SPARSE_CONV_THRESHOLD,
  SPARSE_FC_THRESHOLD,
} from './layers.js';
export { BufferPool } from './pool.js';
export { type Clock, grid, Recorder } from './recorder.js';
export {
  applyActivation,
  binaryReference,
  conv2dReference,
  convReference,
  fcReference,
  poolReference,
  softmaxReference,
  transposeReference,
} from './reference.js';
export { CODE_WIDTHS, codeWidth, packCodes, stretchOffsets } from './sparse-weights.js';
export { type GpuTensor, reshape, type TensorData } from './tensor.js';
export { ACTIVATIONS, type Activation } from './wgsl.js';
