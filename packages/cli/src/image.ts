import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { FileError } from './args.js';

/** Decoded pixels: 4 bytes (RGBA) per pixel, row by row. */
export interface Rgba {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const startsWith = (bytes: Uint8Array, magic: number[]) => magic.every((b, i) => bytes[i] === b);

/** A PNG or JPEG, told apart by its first bytes rather than its name. */
export function decodeImage(bytes: Uint8Array, file: string): Rgba {
  const png = startsWith(bytes, PNG_MAGIC);
  if (!png && !startsWith(bytes, JPEG_MAGIC))
    throw new FileError(`${file} is neither a PNG nor a JPEG image.`);
  try {
    const image = png
      ? PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      : jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: image.width, height: image.height, data: new Uint8Array(image.data) };
  } catch (e) {
    throw new FileError(`cannot decode ${file} as ${png ? 'PNG' : 'JPEG'}: ${(e as Error).message}`);
  }
}

/** ITU-R BT.601 luma, as most image libraries convert RGB to grayscale. */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * The image resized bilinearly to `height`×`width` (pixel centres aligned, edges clamped, as PIL,
 * OpenCV and PyTorch's align_corners=false do), as `channels` planes (1: grayscale, 3: RGB) of values
 * in [0, 1]; alpha is ignored.
 */
export function imageToPlanes(image: Rgba, channels: 1 | 3, height: number, width: number): Float32Array {
  const out = new Float32Array(channels * height * width);
  const at = (x: number, y: number, c: number) => image.data[4 * (y * image.width + x) + c]!;
  const source = (i: number, scale: number, size: number) => {
    const s = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), size - 1);
    const lo = Math.floor(s);
    return { lo, hi: Math.min(lo + 1, size - 1), f: s - lo };
  };
  for (let y = 0; y < height; y++) {
    const sy = source(y, image.height / height, image.height);
    for (let x = 0; x < width; x++) {
      const sx = source(x, image.width / width, image.width);
      const sample = (c: number) =>
        (1 - sy.f) * ((1 - sx.f) * at(sx.lo, sy.lo, c) + sx.f * at(sx.hi, sy.lo, c)) +
        sy.f * ((1 - sx.f) * at(sx.lo, sy.hi, c) + sx.f * at(sx.hi, sy.hi, c));
      const rgb = [sample(0), sample(1), sample(2)];
      for (let c = 0; c < channels; c++)
        out[(c * height + y) * width + x] =
          (channels === 1 ? LUMA[0] * rgb[0]! + LUMA[1] * rgb[1]! + LUMA[2] * rgb[2]! : rgb[c]!) / 255;
    }
  }
  return out;
}
