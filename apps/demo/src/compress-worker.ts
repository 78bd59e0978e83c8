import { compressModel, encodeZsk } from '@zeroskip/runtime';
import { breakdownOf } from './breakdown.js';
import type { CompressReply, CompressRequest } from './compress.js';

// Compression (k-means, Huffman coding) runs here so that the page stays responsive.
const scope = self as unknown as {
  onmessage: (e: MessageEvent<CompressRequest>) => void;
  postMessage(m: CompressReply, transfer: Transferable[]): void;
};
const post = (m: CompressReply, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

scope.onmessage = ({ data }: MessageEvent<CompressRequest>) => {
  try {
    const c = compressModel(data.graph, {
      ...data.options,
      onProgress: (done, total, layer) => post({ type: 'progress', done, total, layer }),
    });
    const zsk = encodeZsk(c.graph, c.encodings, c.meta);
    post({ type: 'done', zsk, total: c.total, layers: breakdownOf(c) }, [zsk.buffer]);
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
