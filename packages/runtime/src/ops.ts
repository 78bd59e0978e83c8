/** Every ONNX op this runtime executes (CPU executor), in the order the README lists them. */
export const SUPPORTED_OPS = [
  'Conv',
  'Gemm',
  'MatMul',
  'BatchNormalization',
  'Relu',
  'Clip',
  'LeakyRelu',
  'Sigmoid',
  'HardSigmoid',
  'HardSwish',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'Add',
  'Mul',
  'Sub',
  'Div',
  'Concat',
  'Flatten',
  'Reshape',
  'Transpose',
  'Split',
  'Slice',
  'Gather',
  'Shape',
  'Unsqueeze',
  'Squeeze',
  'ReduceMean',
  'Softmax',
  'Dropout',
  'Identity',
  'Constant',
  'Pad',
] as const;

export type SupportedOp = (typeof SUPPORTED_OPS)[number];

export function isSupportedOp(op: string): op is SupportedOp {
  return (SUPPORTED_OPS as readonly string[]).includes(op);
}
