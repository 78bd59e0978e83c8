import { readFile } from 'node:fs/promises';
import { requestDevice } from '@zeroskip/gpu';
import {
  compressModel,
  importOnnx,
  optimize,
  type PlanCache,
  readNpy,
  runCpu,
  WebGpuSession,
} from '@zeroskip/runtime';

const models = process.argv[2] ?? 'models';
const read = async (file: string) => new Uint8Array(await readFile(`${models}/${file}`));
// 90% of the weights pruned, so that 'auto' picks the sparse kernels.
const { graph } = compressModel(optimize(importOnnx(await read('lenet5.onnx'))), { prune: 0.9 });
const input = readNpy(await read('lenet5.input.npy'));
const expected = runCpu(graph, { input }).output?.data ?? [];

// One device for several sessions: Dawn (the `webgpu` package) in Node, navigator.gpu in a browser.
const gpu = await requestDevice();
console.log(`adapter: ${gpu.adapter.description || gpu.adapter.vendor}`);
try {
  for (const plan of ['dense', 'auto'] as const) {
    const session = await WebGpuSession.create(graph, { gpu, plan });
    const { output } = await session.run({ input });
    const diff = Math.max(...Array.from(output?.data ?? [], (v, i) => Math.abs(v - (expected[i] ?? 0))));
    if (!(diff < 1e-3)) throw new Error(`plan ${plan}: WebGPU and CPU differ by ${diff}`);
    console.log(`plan ${plan}: ${session.plan.map((p) => `${p.node}=${p.kernel}`).join(' ')}`);
    session.destroy(); // frees the session's weights; the device it was given stays open
  }

  // 'tuned': time every candidate kernel of each conv and FC layer on this device and keep the
  // fastest. The cache is plain JSON: store it and pass it again to skip the measurements.
  const session = await WebGpuSession.create(graph, { gpu });
  const cache: PlanCache = {};
  const tuned = await session.tune({ input }, { cache, iterations: 3 });
  console.log(`tuned: ${tuned.map((p) => `${p.node}=${p.kernel}`).join(' ')}`);
  console.log(`cached choices: ${Object.keys(cache).length}`);
  await session.run({ input }); // runs with the tuned kernels
  session.destroy();
} finally {
  gpu.destroy();
}
