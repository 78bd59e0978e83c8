// ONNX Runtime Web's native WebGPU execution provider on a Dawn device of its own, in a process of its
// own, driven by ort-web.ts over IPC (advanced serialization). It reports { version } or { reason } once
// ready, then answers each request with one message or { reason }:
//   { open: { model, inputName, shape, data, layout } } → { output } (the first run's first output)
//   { time: { warmup, iterations } }                    → { samples } (ms of session.run each)
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { requestDevice } from '@zeroskip/gpu';

const WASM = 'ort-wasm-simd-threaded.asyncify.wasm';

/** The EP's wasm: beside this script where it was packed with it, else from the installed package. */
async function wasmBinary() {
  try {
    return await readFile(new URL(`./${WASM}`, import.meta.url));
  } catch {
    return readFile(createRequire(import.meta.url).resolve(`onnxruntime-web/${WASM}`));
  }
}

/**
 * ORT's builds are threaded, so the views it uploads sit on a SharedArrayBuffer, which Dawn's writeBuffer
 * rejects (or crashes on): copy those into an ordinary buffer first.
 */
function acceptSharedUploads() {
  const write = GPUQueue.prototype.writeBuffer;
  GPUQueue.prototype.writeBuffer = function (buffer, offset, data, dataOffset, size) {
    if (!(data.buffer instanceof SharedArrayBuffer))
      return write.call(this, buffer, offset, data, dataOffset, size);
    const unit = data.BYTES_PER_ELEMENT ?? 1;
    const start = data.byteOffset + (dataOffset ?? 0) * unit;
    const length = size === undefined ? data.byteOffset + data.byteLength - start : size * unit;
    return write.call(this, buffer, offset, new Uint8Array(data.buffer, start, length).slice());
  };
}

async function start() {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  acceptSharedUploads();
  // ORT looks for navigator.gpu even when handed a device; the device itself is opened as Zeroskip opens
  // its own, so both sides get the same adapter, limits and features.
  const entry = create([]);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: entry }, configurable: true });
  const gpu = await requestDevice({ gpu: entry });
  const ort = await import('onnxruntime-web/webgpu');
  // One thread: no worker, no extra module loaded at run time.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmBinary = await wasmBinary();
  ort.env.logLevel = 'error';
  return { ort, device: gpu.device };
}

let ready;
let session;
let feeds;

async function open({ model, inputName, shape, data, layout }) {
  const { ort, device } = await ready;
  await session?.release();
  session = undefined;
  session = await ort.InferenceSession.create(await readFile(model), {
    executionProviders: [{ name: 'webgpu', device, preferredLayout: layout }],
    graphOptimizationLevel: 'all',
  });
  feeds = { [inputName]: new ort.Tensor('float32', data, shape) };
  return { output: await run() };
}

async function run() {
  const out = await session.run(feeds);
  return out[session.outputNames[0]].data;
}

async function time({ warmup, iterations }) {
  for (let i = 0; i < warmup; i++) await run();
  const samples = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return { samples };
}

const reason = (e) => ({ reason: String(e?.message ?? e).split('\n')[0] });

// ORT awaits GPU promises that hold no libuv handle, so the loop could run dry mid-inference; this
// process is killed, never awaited, so the handle stays for its life.
setInterval(() => {}, 1 << 30);
ready = start();
ready.then(
  ({ ort }) => process.send({ version: ort.env.versions.web ?? ort.env.versions.common }),
  (e) => process.send(reason(e)),
);
// Requests come one at a time: the parent awaits each reply before the next.
process.on('message', (request) => {
  const answer = request.open ? open(request.open) : time(request.time);
  answer.then(
    (m) => process.send(m),
    (e) => process.send(reason(e)),
  );
});
