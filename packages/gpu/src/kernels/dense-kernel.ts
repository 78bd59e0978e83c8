import { GpuError } from '../errors.js';
import type { ConvGeometry } from '../geometry.js';
import { convTile } from './gemm-conv.js';
import { isGemv } from './gemv.js';
import { BYTES_PER_SECOND, GEMM_TILES, type GemmTileName } from './tiled-gemm.js';
import {
  chooseWinogradBlock,
  DISPATCH_SECONDS,
  implicitGemmSeconds,
  type WinogradBlock,
  winogradApplies,
  winogradSeconds,
} from './winograd.js';

/**
 * The kernel a dense (`implicit-gemm`) conv layer runs: the matrix-vector product, Winograd F(m×m, 3×3)
 * with m = 2 or 4, or the tiled implicit GEMM with one of its tiles. A layer takes the cost model's
 * choice ({@link chooseDenseKernel}) unless its spec names one, as the bench does to time the others.
 */
export type DenseKernel = 'gemv' | `winograd-${WinogradBlock}` | `gemm-${GemmTileName}`;

const WINOGRAD_BLOCKS: readonly WinogradBlock[] = [2, 4];

/** Every dense kernel, whether or not it applies to a given geometry. */
export const DENSE_KERNELS: readonly DenseKernel[] = [
  'gemv',
  ...WINOGRAD_BLOCKS.map((b) => `winograd-${b}` as const),
  ...(Object.keys(GEMM_TILES) as GemmTileName[]).map((t) => `gemm-${t}` as const),
];

/** The Winograd block of a `winograd-m` kernel. */
export function winogradBlockOf(k: DenseKernel): WinogradBlock | undefined {
  return k.startsWith('winograd-') ? (Number(k.slice('winograd-'.length)) as WinogradBlock) : undefined;
}

/** The tile of a `gemm-tile` kernel. */
export function gemmTileOf(k: DenseKernel) {
  return k.startsWith('gemm-') ? GEMM_TILES[k.slice('gemm-'.length) as GemmTileName] : undefined;
}

/** Whether the kernel can run the conv: GEMV needs an FC-like conv on few images, Winograd a 3×3 stride-1 one. */
export function denseKernelApplies(k: DenseKernel, geo: ConvGeometry): boolean {
  if (k === 'gemv') return isGemv(geo);
  return winogradBlockOf(k) === undefined || winogradApplies(geo);
}

/** The cost model's kernel: GEMV where it applies, Winograd where estimated faster, else the GEMM's best tile. */
export function chooseDenseKernel(geo: ConvGeometry, software: boolean): DenseKernel {
  if (isGemv(geo)) return 'gemv';
  const block = chooseWinogradBlock(geo);
  if (block) return `winograd-${block}`;
  const tile = convTile(geo, software);
  const name = (Object.keys(GEMM_TILES) as GemmTileName[]).find((t) => GEMM_TILES[t] === tile)!;
  return `gemm-${name}`;
}

/**
 * Estimated seconds of the cost model's kernel on a GPU (whatever the adapter): the GEMV streams its
 * weights once; Winograd and the implicit GEMM as their own estimates give.
 */
export function denseConvSeconds(geo: ConvGeometry): number {
  const kernel = chooseDenseKernel(geo, false);
  if (kernel === 'gemv') return (4 * geo.o * geo.k) / BYTES_PER_SECOND + DISPATCH_SECONDS;
  const block = winogradBlockOf(kernel);
  return block ? winogradSeconds(geo, block) : implicitGemmSeconds(geo);
}

/** A dense kernel from its name, as {@link DENSE_KERNELS} lists them. */
export function parseDenseKernel(name: string): DenseKernel {
  const k = DENSE_KERNELS.find((d) => d === name);
  if (!k)
    throw new GpuError(
      'invalid-argument',
      `'${name}' is not a dense conv kernel; use one of ${DENSE_KERNELS.join(', ')}.`,
    );
  return k;
}
