import { RuntimeError } from './errors.js';
import {
  type DType,
  sizeOf,
  type Tensor,
  tensor,
  VALUE_BYTES,
  valueBytes,
  valuesFromBytes,
} from './tensor.js';

// NumPy .npy, format versions 1.0–3.0, C order, little-endian float32, int64, uint8, int8 and bool.
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const DESCR: Record<string, DType> = {
  '<f4': 'float32',
  '<i8': 'int64',
  '|u1': 'uint8',
  '<u1': 'uint8',
  '|i1': 'int8',
  '<i1': 'int8',
  '|b1': 'bool',
};

function corrupt(why: string): never {
  throw new RuntimeError('corrupt-file', `not a readable .npy file: ${why}.`);
}

/** Parses a .npy file; every size is checked against the bytes present before anything is allocated. */
export function readNpy(bytes: Uint8Array): Tensor {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) corrupt('the magic string is missing');
  const major = bytes[6]!;
  if (major < 1 || major > 3) corrupt(`format version ${major} is unknown`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen =
    major === 1
      ? view.getUint16(8, true)
      : bytes.length >= 12
        ? view.getUint32(8, true)
        : corrupt('the header length is truncated');
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) corrupt('the header is truncated');
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    corrupt('the header lacks descr, fortran_order or shape');
  const dtype = DESCR[descr];
  if (!dtype)
    throw new RuntimeError(
      'invalid-input',
      `.npy dtype ${descr} is not supported; use float32, int64, uint8, int8 or bool.`,
    );
  if (fortran === 'True')
    throw new RuntimeError(
      'invalid-input',
      '.npy files in Fortran order are not supported; save with C order (np.ascontiguousarray).',
    );
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : corrupt(`shape entry '${s}' is not a size`)));
  const itemSize = VALUE_BYTES[dtype];
  const count = sizeOf(shape);
  const dataStart = start + headerLen;
  if (!Number.isSafeInteger(count) || count * itemSize > bytes.length - dataStart)
    corrupt(`shape [${shape.join(', ')}] needs more data than the file holds`);
  return tensor(
    dtype,
    shape,
    valuesFromBytes(dtype, bytes.subarray(dataStart, dataStart + count * itemSize)),
  );
}

/** Writes a tensor as a version 1.0 .npy file (header padded to 64 bytes, as NumPy does). */
export function writeNpy(t: Tensor): Uint8Array {
  const descr = { float32: '<f4', int64: '<i8', uint8: '|u1', int8: '|i1', bool: '|b1' }[t.dtype];
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += `${' '.repeat(64 - ((10 + header.length + 1) % 64))}\n`;
  const body = valueBytes(t);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set(MAGIC);
  out[6] = 1;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}
