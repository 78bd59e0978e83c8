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
  type ConvBuffers,
  encodeDepthwiseConv,
  encodeIm2col,
  encodeIm2colGemmConv,
  encodeImplicitGemmConv,
} from './kernels/gemm-conv.js';
export { BufferPool } from './pool.js';
export { type Clock, grid, Recorder } from './recorder.js';
export { applyActivation, conv2dReference, convReference, fcReference } from './reference.js';
export { type GpuTensor, reshape, type TensorData } from './tensor.js';
export { ACTIVATIONS, type Activation } from './wgsl.js';
