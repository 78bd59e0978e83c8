import type { Compressed, CompressOptions, Graph } from '@zeroskip/runtime';
import type { LayerBreakdown } from './breakdown.js';

export type WorkerOptions = Omit<CompressOptions, 'onProgress'>;

export interface CompressRequest {
  readonly graph: Graph;
  readonly options: WorkerOptions;
}

export interface CompressResult {
  /** The .zsk file's bytes. */
  readonly zsk: Uint8Array;
  readonly total: Compressed['total'];
  readonly layers: LayerBreakdown[];
}

export type CompressReply =
  | { readonly type: 'progress'; readonly done: number; readonly total: number; readonly layer: string }
  | ({ readonly type: 'done' } & CompressResult)
  | { readonly type: 'error'; readonly message: string };

/** Compresses a graph in a Web Worker, reporting each finished layer. */
export function compressInWorker(
  graph: Graph,
  options: WorkerOptions,
  onProgress: (done: number, total: number, layer: string) => void,
): Promise<CompressResult> {
  const worker = new Worker(new URL('./compress-worker.ts', import.meta.url), { type: 'module' });
  return new Promise<CompressResult>((resolve, reject) => {
    worker.onmessage = ({ data }: MessageEvent<CompressReply>) => {
      if (data.type === 'progress') return onProgress(data.done, data.total, data.layer);
      if (data.type === 'done') resolve(data);
      else reject(new Error(data.message));
    };
    worker.onerror = (e) => reject(new Error(`the compression worker failed: ${e.message}`));
    worker.postMessage({ graph, options } satisfies CompressRequest);
  }).finally(() => worker.terminate());
}
