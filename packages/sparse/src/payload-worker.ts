// The worker that payload-workers.ts starts: decodes the weight payloads it is sent into CSR and sends
// the arrays back, transferred. It runs as a Node worker thread or as a module Web Worker.
import { FormatError } from './errors.js';
import { PayloadScratch } from './payload.js';
import { decodeJob, type PayloadReply, type PayloadRequest } from './payload-workers.js';
import { nodeBuiltin } from './platform.js';

interface Port {
  post(reply: PayloadReply, transfer: ArrayBuffer[]): void;
  listen(handle: (request: PayloadRequest) => void): void;
}

function parentPort(): Port {
  const node = nodeBuiltin<{ parentPort: NodePort | null }>('node:worker_threads')?.parentPort;
  if (node)
    return {
      post: (reply, transfer) => node.postMessage(reply, transfer),
      listen: (handle) => node.on('message', handle),
    };
  const scope = globalThis as unknown as Partial<WebWorkerScope>;
  if (!scope.postMessage || !scope.addEventListener)
    throw new FormatError(
      'invalid-argument',
      '@zeroskip/sparse/payload-worker runs as a worker; start it with new Worker(url), or call decodeWeightPayloadsCsr.',
    );
  const self = scope as WebWorkerScope;
  return {
    post: (reply, transfer) => self.postMessage(reply, transfer),
    listen: (handle) => self.addEventListener('message', (e) => handle(e.data)),
  };
}

interface NodePort {
  postMessage(value: unknown, transfer: ArrayBuffer[]): void;
  on(event: 'message', handle: (value: PayloadRequest) => void): void;
}

interface WebWorkerScope {
  postMessage(value: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message', handle: (e: { data: PayloadRequest }) => void): void;
}

const port = parentPort();
// one worker decodes many payloads: their streams share memory, as on the calling thread
const scratch = new PayloadScratch();
port.listen(({ id, ...job }) => {
  try {
    const csr = decodeJob(job, scratch);
    const transfer = [csr.rowPtr.buffer, csr.colIdx.buffer, csr.values.buffer] as ArrayBuffer[];
    if (csr.codebook) transfer.push(csr.codebook.buffer as ArrayBuffer);
    port.post({ id, csr }, transfer);
  } catch (e) {
    port.post(
      {
        id,
        error:
          e instanceof FormatError
            ? { code: e.code, message: e.message }
            : { message: e instanceof Error ? e.message : String(e) },
      },
      [],
    );
  }
});
port.post({ ready: true }, []);
