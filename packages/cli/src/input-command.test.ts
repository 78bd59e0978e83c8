import { seededRandom } from '@zeroskip/quant';
import type { GraphInput } from '@zeroskip/runtime';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { FileError, UsageError } from './args.js';
import { decodeImage, imageToPlanes, type Rgba } from './image.js';
import { concreteShape, makeInput } from './input-command.js';

const input = (shape: number[], dtype: GraphInput['dtype'] = 'float32'): GraphInput => ({
  name: 'x',
  shape,
  dtype,
});

/** A random RGBA image from a seed. */
function randomImage(width: number, height: number, seed: number): Rgba {
  const random = seededRandom(seed);
  return {
    width,
    height,
    data: Uint8Array.from({ length: 4 * width * height }, () => Math.floor(256 * random())),
  };
}

function encodePng(image: Rgba): Uint8Array {
  const png = new PNG({ width: image.width, height: image.height });
  png.data.set(image.data);
  return new Uint8Array(PNG.sync.write(png));
}

describe('makeInput', () => {
  it('fills the batch and refuses any other dynamic dimension', () => {
    expect(concreteShape(input([-1, 1, 28, 28]), undefined)).toEqual([1, 1, 28, 28]);
    expect(concreteShape(input([-1, 1, 28, 28]), 5)).toEqual([5, 1, 28, 28]);
    expect(concreteShape(input([2, 784]), undefined)).toEqual([2, 784]);
    expect(() => concreteShape(input([-1, 3, -1, -1]), 1)).toThrow(
      new UsageError(
        "input 'x' [?, 3, ?, ?] leaves axis 2, 3 dynamic; only the batch (axis 0) can be chosen, with --batch.",
      ),
    );
    expect(() => concreteShape(input([1, 3, 8, 8]), 2)).toThrow(/has a fixed batch of 1, not 2/);
    expect(() => makeInput(input([1, 4], 'int64'), {})).toThrow(/is int64; zeroskip input writes float32/);
  });

  it('draws uniform [0, 1) values, the same for the same seed', () => {
    const a = makeInput(input([-1, 3, 4, 5]), { seed: 7, batch: 2 });
    expect(a.shape).toEqual([2, 3, 4, 5]);
    expect(a.data).toHaveLength(120);
    expect(makeInput(input([-1, 3, 4, 5]), { seed: 7, batch: 2 }).data).toEqual(a.data);
    expect(makeInput(input([-1, 3, 4, 5]), { seed: 8, batch: 2 }).data).not.toEqual(a.data);
    for (const v of a.data) expect(v >= 0 && v < 1).toBe(true);
  });

  it('puts a PNG round trip at the same size pixel for pixel: RGB planes, BT.601 luma, repeated over the batch', () => {
    const [width, height] = [5, 3];
    const image = randomImage(width, height, 11);
    const decoded = decodeImage(encodePng(image), 'tiny.png');
    expect(decoded).toEqual(image);
    const rgb = makeInput(input([-1, 3, height, width]), { image: decoded, batch: 2 });
    const gray = makeInput(input([1, 1, height, width]), { image: decoded });
    const pixel = (x: number, y: number, c: number) => image.data[4 * (y * width + x) + c]!;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < 3; c++) {
          const want = pixel(x, y, c) / 255;
          expect(rgb.data[(c * height + y) * width + x]).toBeCloseTo(want, 6);
          expect(rgb.data[((3 + c) * height + y) * width + x]).toBeCloseTo(want, 6);
        }
        const luma = (0.299 * pixel(x, y, 0) + 0.587 * pixel(x, y, 1) + 0.114 * pixel(x, y, 2)) / 255;
        expect(gray.data[y * width + x]).toBeCloseTo(luma, 6);
      }
    expect(() => makeInput(input([1, 784]), { image: decoded })).toThrow(/--image needs an N×C×H×W input/);
  });

  it('resizes bilinearly with pixel centres aligned and edges clamped', () => {
    // one row, black then white, to four columns: sources at -0.25 (clamped), 0.25, 0.75, 1.25 (clamped)
    const image: Rgba = { width: 2, height: 1, data: new Uint8Array([0, 0, 0, 255, 255, 255, 255, 255]) };
    expect([...imageToPlanes(image, 1, 1, 4)].map((v) => v * 255)).toEqual(
      [0, 63.75, 191.25, 255].map((v) => expect.closeTo(v, 3)),
    );
    // shrinking 4×4 to 2×2 samples between pixel pairs: each output is the mean of a 2×2 block
    const big = randomImage(4, 4, 3);
    const small = imageToPlanes(big, 3, 2, 2);
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 2; x++)
        for (let c = 0; c < 3; c++) {
          let sum = 0;
          for (const [dx, dy] of [
            [0, 0],
            [1, 0],
            [0, 1],
            [1, 1],
          ] as const)
            sum += big.data[4 * ((2 * y + dy) * 4 + 2 * x + dx) + c]!;
          expect(small[(c * 2 + y) * 2 + x]! * 255).toBeCloseTo(sum / 4, 3);
        }
  });

  it('decodes JPEG, and names a file that is neither format', () => {
    const flat: Rgba = {
      width: 8,
      height: 8,
      data: new Uint8Array(256).map((_, i) => [200, 100, 50, 255][i % 4]!),
    };
    const decoded = decodeImage(new Uint8Array(jpeg.encode(flat, 100).data), 'flat.jpg');
    expect([decoded.width, decoded.height]).toEqual([8, 8]);
    for (let i = 0; i < 64; i++)
      for (let c = 0; c < 3; c++)
        expect(Math.abs(decoded.data[4 * i + c]! - flat.data[c]!)).toBeLessThanOrEqual(3);
    expect(() => decodeImage(new TextEncoder().encode('not an image'), 'x.png')).toThrow(
      new FileError('x.png is neither a PNG nor a JPEG image.'),
    );
    const png = encodePng(flat);
    expect(() => decodeImage(png.subarray(0, 40), 'cut.png')).toThrow(/cannot decode cut\.png as PNG/);
  });
});
