// One cold load of a .zsk in a process of its own, so that nothing an earlier load or table left in
// the heap, the JIT or the device is counted: bytes in memory → decoded (sparse payloads on worker
// threads) → session → pipelines compiled and weights uploaded → first inference, driven by load.ts
// over IPC (advanced serialization).
//   { file, inputName, shape, data } → { phases, pipelines } (ms of each of load.ts's PHASES) or { reason }
import { readFile } from 'node:fs/promises';
import { requestDevice } from '@zeroskip/gpu';
import { decodeZskAsync, float32, WebGpuSession } from '@zeroskip/runtime';

async function load({ file, inputName, shape, data }) {
  const bytes = new Uint8Array(await readFile(file));
  const input = { [inputName]: float32(shape, data) };
  const gpu = await requestDevice();
  try {
    const marks = [performance.now()];
    const model = await decodeZskAsync(bytes);
    marks.push(performance.now());
    const session = await WebGpuSession.create(model.graph, { gpu });
    marks.push(performance.now());
    const pipelines = await session.compile(input);
    marks.push(performance.now());
    await session.run(input);
    marks.push(performance.now());
    session.destroy();
    return { phases: marks.slice(1).map((m, i) => m - marks[i]), pipelines };
  } finally {
    gpu.destroy();
  }
}

process.once('message', (request) => {
  load(request).then(
    (m) => process.send(m),
    (e) => process.send({ reason: String(e?.message ?? e).split('\n')[0] }),
  );
});
