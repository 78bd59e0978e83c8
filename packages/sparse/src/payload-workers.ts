import { checkInt, FormatError, type FormatErrorCode } from './errors.js';
import { type CsrWeightPayload, decodeWeightPayloadCsr, PayloadScratch } from './payload.js';
import { hardwareThreads, nodeBuiltin } from './platform.js';

/** One payload to decode, and the largest rows·cols it may claim (default as {@link DecodeOptions}). */
export interface PayloadJob {
  readonly bytes: Uint8Array;
  readonly maxElements?: number;
}

export interface WorkerDecodeOptions {
  /**
   * Worker threads to start beside the calling thread, which decodes too; 0 decodes everything on
   * the calling thread. Default: 4 or two fewer than the hardware threads, whichever is less, for
   * 2 MiB of payloads or more, else 0.
   */
  readonly workers?: number;
  /**
   * Where the worker script is (default: `payload-worker.js` beside this module, as the package
   * ships it). A bundler that does not copy it can serve `@zeroskip/sparse/payload-worker` and pass
   * its URL here.
   */
  readonly workerUrl?: URL;
}

/** Sent to a worker: the payload's index among the jobs, and its bytes (transferred). */
export interface PayloadRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly maxElements?: number;
}

/**
 * A worker's message: that it is ready for payloads, a payload's CSR (arrays transferred), or why a
 * payload could not be decoded.
 */
export type PayloadReply =
  | { readonly ready: true }
  | { readonly id: number; readonly csr: CsrWeightPayload }
  | { readonly id: number; readonly error: { readonly code?: FormatErrorCode; readonly message: string } };

/**
 * Below this many payload bytes no worker is started: the file decodes on the calling thread sooner
 * than a worker gets going (about 0.1 s on the GPU machine's host before it decodes at full speed).
 */
const MIN_WORKER_BYTES = 2 * 1024 * 1024;
/** More workers than this decoded ResNet-50 no sooner: their start-ups compete for the same threads. */
const MAX_WORKERS = 4;
/** Payloads a ready worker holds: the next is there when it finishes, while this thread decodes its own. */
const WORKER_QUEUE = 2;

interface DecoderWorker {
  send(request: PayloadRequest, transfer: ArrayBuffer[]): void;
  terminate(): void;
}

interface WorkerEvents {
  reply(r: PayloadReply): void;
  fail(): void;
}

interface NodeWorker {
  on(event: 'message', handle: (r: PayloadReply) => void): void;
  on(event: 'error' | 'exit', handle: () => void): void;
  postMessage(value: unknown, transfer: ArrayBuffer[]): void;
  terminate(): unknown;
}

interface WebWorker {
  onmessage: ((e: { data: PayloadReply }) => void) | null;
  onerror: (() => void) | null;
  postMessage(value: unknown, transfer: ArrayBuffer[]): void;
  terminate(): void;
}

/**
 * A Node worker thread where Node is the host, else a module Web Worker; undefined where neither can
 * be started.
 */
function startWorker(url: URL, events: WorkerEvents): DecoderWorker | undefined {
  try {
    const threads = nodeBuiltin<{ Worker: new (url: URL) => NodeWorker }>('node:worker_threads');
    if (threads) {
      const w = new threads.Worker(url);
      w.on('message', events.reply);
      w.on('error', events.fail);
      w.on('exit', events.fail);
      return { send: (r, transfer) => w.postMessage(r, transfer), terminate: () => void w.terminate() };
    }
    const Web = (globalThis as { Worker?: new (url: URL, o: { type: 'module' }) => WebWorker }).Worker;
    if (!Web) return undefined;
    const w = new Web(url, { type: 'module' });
    w.onmessage = (e) => events.reply(e.data);
    w.onerror = events.fail;
    return { send: (r, transfer) => w.postMessage(r, transfer), terminate: () => w.terminate() };
  } catch {
    // a URL the host refuses (another origin, a non-file URL in Node): the same as a worker that dies
    return undefined;
  }
}

function defaultWorkers(bytes: number): number {
  // one hardware thread for the caller and one for the host's own (compilers, GC, the GPU driver):
  // on two, one worker made ResNet-50's decode slower
  return bytes < MIN_WORKER_BYTES ? 0 : Math.max(0, Math.min(MAX_WORKERS, hardwareThreads() - 2));
}

/** One job decoded on the thread that calls it, on either side of the worker boundary. */
export function decodeJob(job: PayloadJob, scratch: PayloadScratch): CsrWeightPayload {
  const { bytes, maxElements } = job;
  return decodeWeightPayloadCsr(bytes, { scratch, ...(maxElements === undefined ? {} : { maxElements }) });
}

interface Port {
  onmessage: (() => void) | null;
  postMessage(value: null): void;
  close(): void;
}

/** Resolves in a task of its own, after the messages already queued (no timer clamping). */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new (
      globalThis as unknown as { MessageChannel: new () => { port1: Port; port2: Port } }
    ).MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

/**
 * {@link decodeWeightPayloadCsr} for many payloads at once, shared between worker threads (Node) or
 * Web Workers (browsers) and the calling thread: a file of many large tensors decodes in a fraction
 * of the time. The calling thread decodes from the smallest payload up, yielding to its event loop
 * between payloads, and each worker, once started, takes the largest left; a worker that starts
 * after the rest is done is given nothing. Once none is left, this thread decodes what workers still
 * hold, and the first result of each payload counts. A worker that cannot start, dies or stops
 * answering leaves its payloads to the calling thread, as ONNX Runtime Web runs single-threaded
 * where it cannot start threads. Results come back in the order of `payloads`, their arrays moved,
 * not copied. Rejects with the {@link FormatError} of a payload that does not decode (which one,
 * when several do not, depends on timing).
 */
export async function decodeWeightPayloadsCsr(
  payloads: readonly PayloadJob[],
  options: WorkerDecodeOptions = {},
): Promise<CsrWeightPayload[]> {
  const bytes = payloads.reduce((sum, p) => sum + p.bytes.length, 0);
  if (options.workers !== undefined) checkInt('workers', options.workers, 0, 256);
  // a single payload never needs a worker: this thread decodes it while one would be starting
  const workers = Math.min(Math.max(0, payloads.length - 1), options.workers ?? defaultWorkers(bytes));
  const scratch = new PayloadScratch();
  if (workers === 0) return payloads.map((p) => decodeJob(p, scratch));
  const url = options.workerUrl ?? new URL('./payload-worker.js', import.meta.url);
  // largest first: workers take from the front, this thread from the back
  const order = payloads
    .map((_, i) => i)
    .sort((a, b) => payloads[b]!.bytes.length - payloads[a]!.bytes.length);
  let front = 0;
  let back = order.length;
  /** Payloads of workers that failed, for this thread to decode. */
  const orphans: number[] = [];
  const size = (id: number) => payloads[id]!.bytes.length;
  const results: CsrWeightPayload[] = new Array(payloads.length);
  const pool = new Map<DecoderWorker, number[]>();
  let done = 0;
  let failure: FormatError | undefined;
  let wake = () => {};
  const give = (w: DecoderWorker) => {
    if (front === back || failure) return;
    const id = order[front++]!;
    const { bytes, maxElements } = payloads[id]!;
    // the payload's own copy, moved to the worker rather than cloned a second time
    const own = bytes.slice();
    w.send({ id, bytes: own, ...(maxElements === undefined ? {} : { maxElements }) }, [own.buffer]);
    pool.get(w)!.push(id);
  };
  // A worker that cannot start or dies (a bundle without its script, a host without workers) leaves
  // its payloads to this thread: the result is the same, later.
  const drop = (w: DecoderWorker) => {
    const held = pool.get(w);
    if (!held) return;
    pool.delete(w);
    w.terminate();
    orphans.push(...held);
    wake();
  };
  // the first result of a payload counts: this thread may decode one a worker holds too
  const finish = (id: number, csr: CsrWeightPayload) => {
    if (results[id]) return;
    results[id] = csr;
    if (++done === payloads.length) wake();
  };
  /**
   * The next payload for this thread: a failed worker's, else the smallest not handed out, else the
   * largest a worker still holds (queued behind another, before one it is decoding), so that this
   * thread never waits while a cold worker decodes a payload it would finish sooner itself.
   */
  const next = (): number | undefined => {
    for (let id = orphans.pop(); id !== undefined; id = orphans.pop()) if (!results[id]) return id;
    if (front < back) return order[--back];
    let best: number | undefined;
    let bestRank = -1;
    for (const held of pool.values())
      held.forEach((id, place) => {
        const rank = size(id) + (place > 0 ? bytes : 0);
        if (!results[id] && rank > bestRank) [best, bestRank] = [id, rank];
      });
    return best;
  };
  const reply = (w: DecoderWorker, r: PayloadReply) => {
    const held = pool.get(w);
    if (!held || failure) return;
    if ('ready' in r) {
      for (let q = 0; q < WORKER_QUEUE; q++) give(w);
    } else if ('csr' in r) {
      held.splice(held.indexOf(r.id), 1);
      finish(r.id, r.csr);
      give(w);
    } else if (r.error.code) {
      failure = new FormatError(r.error.code, r.error.message);
      wake();
    } else drop(w);
  };
  try {
    for (let k = 0; k < workers; k++) {
      const w = startWorker(url, { reply: (r) => w && reply(w, r), fail: () => w && drop(w) });
      if (w) pool.set(w, []);
    }
    while (!failure && done < payloads.length) {
      const id = next();
      if (id === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      finish(id, decodeJob(payloads[id]!, scratch));
      await nextTask();
    }
  } finally {
    for (const w of pool.keys()) w.terminate();
  }
  if (failure) throw failure;
  return results;
}
