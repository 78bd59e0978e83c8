import { readFile } from 'node:fs/promises';
import { importOnnx, optimize, readNpy, WebGpuSession } from '@zeroskip/runtime';

const models = process.argv[2] ?? 'models';
const read = async (file: string) => new Uint8Array(await readFile(`${models}/${file}`));
const graph = optimize(importOnnx(await read('lenet5.onnx')));
const input = readNpy(await read('lenet5.input.npy'));

const session = await WebGpuSession.create(graph); // opens (and on destroy closes) its own device
try {
  await session.run({ input }); // the first run compiles pipelines and uploads weights
  const profile = await session.profile({ input });
  console.log(
    `clock ${profile.clock}: GPU ${profile.gpuMs.toFixed(2)} ms, recording ${profile.recordMs.toFixed(2)} ms, wall ${profile.wallMs.toFixed(2)} ms`,
  );
  for (const n of [...profile.nodes].sort((a, b) => b.ms - a.ms).slice(0, 5))
    console.log(`  ${n.node} (${n.op}, ${n.kernel}): ${n.ms.toFixed(3)} ms`);
} finally {
  session.destroy();
}
