import { decodeZsk, float32, optimize, type Tensor } from '@zeroskip/runtime';
import { IMAGE_SIZE, loadPretrained, PRETRAINED } from '@zeroskip/train/pretrained';
import { type Backend, type Runner, runner } from './backend.js';

/** MNIST digits fill a 20×20 box centred by mass in the 28×28 image. */
const BOX = 20;

/**
 * The drawing as an MNIST input (1×1×28×28, ink = 1): the ink's bounding box scaled into a 20×20
 * box, placed so that its centre of mass is the image centre. Undefined when nothing is drawn.
 */
export function toMnist(canvas: HTMLCanvasElement): Tensor | undefined {
  const { width, height } = canvas;
  const ink = canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (ink[4 * (y * width + x)]! > 0) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x);
        y1 = Math.max(y1, y);
      }
  if (x1 < 0) return undefined;
  const [w, h] = [x1 - x0 + 1, y1 - y0 + 1];
  const scale = BOX / Math.max(w, h);
  const [bw, bh] = [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))];
  const box = document.createElement('canvas');
  box.width = bw;
  box.height = bh;
  const bctx = box.getContext('2d', { willReadFrequently: true })!;
  bctx.imageSmoothingQuality = 'high';
  bctx.drawImage(canvas, x0, y0, w, h, 0, 0, bw, bh);
  const pixels = bctx.getImageData(0, 0, bw, bh).data;
  let [mass, mx, my] = [0, 0, 0];
  for (let y = 0; y < bh; y++)
    for (let x = 0; x < bw; x++) {
      const v = pixels[4 * (y * bw + x)]! / 255;
      mass += v;
      mx += v * x;
      my += v * y;
    }
  const centre = IMAGE_SIZE / 2;
  const ox = Math.round(centre - (mass > 0 ? mx / mass : bw / 2));
  const oy = Math.round(centre - (mass > 0 ? my / mass : bh / 2));
  const out = float32([1, 1, IMAGE_SIZE, IMAGE_SIZE]);
  for (let y = 0; y < bh; y++)
    for (let x = 0; x < bw; x++) {
      const [tx, ty] = [x + ox, y + oy];
      if (tx >= 0 && tx < IMAGE_SIZE && ty >= 0 && ty < IMAGE_SIZE)
        out.data[ty * IMAGE_SIZE + tx] = pixels[4 * (y * bw + x)]! / 255;
    }
  return out;
}

/** One shipped model, ready to classify. */
export interface DigitModel {
  readonly name: string;
  readonly description: string;
  /** Size of its .zsk file. */
  readonly bytes: number;
  /** Its input's name (pixels, N×1×28×28 in [0, 1]). */
  readonly input: string;
  readonly runner: Runner;
}

export const DIGIT_MODELS = Object.keys(PRETRAINED) as (keyof typeof PRETRAINED)[];

export async function loadDigitModels(backend: Backend): Promise<DigitModel[]> {
  return Promise.all(
    DIGIT_MODELS.map(async (name) => {
      const zsk = await loadPretrained(name);
      const graph = optimize(decodeZsk(zsk).graph);
      return {
        name,
        description: PRETRAINED[name],
        bytes: zsk.length,
        input: graph.inputs[0]!.name,
        runner: await runner(graph, backend),
      };
    }),
  );
}

export interface Classification {
  readonly name: string;
  readonly bytes: number;
  readonly scores: Float32Array;
  readonly digit: number;
  readonly ms: number;
}

export async function classify(models: readonly DigitModel[], input: Tensor): Promise<Classification[]> {
  const out: Classification[] = [];
  for (const m of models) {
    const t = performance.now();
    const outputs = await m.runner.run({ [m.input]: input });
    const ms = performance.now() - t;
    const scores = Object.values(outputs)[0]!.data as Float32Array;
    const digit = scores.reduce((best, v, i) => (v > scores[best]! ? i : best), 0);
    out.push({ name: m.name, bytes: m.bytes, scores, digit, ms });
  }
  return out;
}
