export { BitReader, BitWriter } from './bitstream.js';
export { bsrToDense, denseToBsr, validateBsr } from './bsr.js';
export {
  cooToCsr,
  cooToDense,
  countNonzeros,
  cscToCsr,
  cscToDense,
  csrToCoo,
  csrToCsc,
  csrToDense,
  csrToDenseInto,
  denseToCoo,
  denseToCsc,
  denseToCsr,
  transposeCsr,
  validateCoo,
  validateCsc,
  validateCsr,
} from './compressed.js';
export { crc32 } from './crc32.js';
export { FormatError, type FormatErrorCode } from './errors.js';
export {
  canonicalCodes,
  HuffmanDecoder,
  huffmanBits,
  huffmanCodeLengths,
  huffmanEncode,
  MAX_CODE_LENGTH,
  MAX_SYMBOLS,
  readCodeLengths,
  writeCodeLengths,
} from './huffman.js';
export {
  type BsrMatrix,
  type CooMatrix,
  type CscMatrix,
  type CsrMatrix,
  convWeightMatrix,
  type DenseMatrix,
  dense,
} from './matrix.js';
export {
  type CsrWeightPayload,
  type DecodedPayload,
  type DecodeOptions,
  type DenseWeightPayload,
  decodeWeightPayload,
  decodeWeightPayloadCsr,
  decodeWeightPayloadDense,
  encodeWeightPayload,
  type PayloadBreakdown,
  type PayloadOptions,
  PayloadScratch,
  payloadToCsr,
  payloadToDense,
} from './payload.js';
export {
  decodeWeightPayloadsCsr,
  type PayloadJob,
  type WorkerDecodeOptions,
} from './payload-workers.js';
export {
  csrToRelativeIndex,
  type RelativeIndex,
  relativeIndexDecode,
  relativeIndexEncode,
  relativeIndexFromPositions,
  relativeIndexPositions,
  relativeIndexSize,
} from './relative-index.js';
export { type BlockStats, bsrStats, csrStats, type SparsityStats } from './stats.js';
