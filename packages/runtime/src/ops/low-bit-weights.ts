import type { LowBitRows } from '@zeroskip/gpu';
import type { Tensor } from '../tensor.js';

/** Bit planes per weight tensor and layout key, or null where they are off every grid: each plan asks again. */
const planes = new WeakMap<Tensor, Map<string, LowBitRows | null>>();

/** The bit planes of `w` under `layout`, made once by `make` (undefined where the weights take no planes). */
export function lowBitPlanesOf(
  w: Tensor,
  layout: string,
  make: () => LowBitRows | undefined,
): LowBitRows | undefined {
  let byLayout = planes.get(w);
  if (!byLayout) planes.set(w, (byLayout = new Map()));
  if (!byLayout.has(layout)) byLayout.set(layout, make() ?? null);
  return byLayout.get(layout) ?? undefined;
}
