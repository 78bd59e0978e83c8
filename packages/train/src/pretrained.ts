import { TrainError } from './errors.js';

// also the package's `@zeroskip/train/pretrained` entry, which browsers can load without TF.js
export { IMAGE_SIZE } from './mnist-shape.js';

/**
 * The trained models this package ships as .zsk files (README: "Shipped models and recipes"): each
 * takes N×1×28×28 float32 pixels in [0, 1] and returns N×10 scores.
 */
export const PRETRAINED = {
  binarynet: 'BinaryNet (W1 A1): binary conv and dense layers on sign activations, BN + sign as thresholds',
  ternarynet: 'TernaryNet: TWN ternary weights, float activations',
  'dorefa-w1a3': 'DoReFa-Net W1 A3: binary weights, 3-bit activations',
  fp32: 'the float twin of the three (same architecture, ReLU)',
  'lenet-300-100': 'LeNet-300-100, Deep-Compressed: pruned, k-means shared, Huffman-coded',
  'lenet-5': 'LeNet-5 (Caffe), Deep-Compressed: pruned, k-means shared, Huffman-coded',
} as const;

export type PretrainedName = keyof typeof PRETRAINED;

/** The bytes of a shipped .zsk (read from the package in Node, fetched beside the module in browsers). */
export async function loadPretrained(name: string): Promise<Uint8Array> {
  if (!Object.hasOwn(PRETRAINED, name))
    throw new TrainError(
      'invalid-argument',
      `no pretrained model '${name}'; choose one of ${Object.keys(PRETRAINED).join(', ')}.`,
    );
  const url = new URL(`../pretrained/${name}.zsk`, import.meta.url);
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok)
    throw new TrainError(
      'missing-file',
      `cannot fetch ${url} (HTTP ${response.status}); serve the package's pretrained/ folder.`,
    );
  return new Uint8Array(await response.arrayBuffer());
}
