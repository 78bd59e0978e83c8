// Host time per session.run of small models at batch 1: wall per run, then a CPU profile of the loop.
import { readFileSync } from 'node:fs';
import { decodeZsk, optimize, WebGpuSession } from '@zeroskip/runtime';
const [file, runs = '3000'] = process.argv.slice(2);
const graph = optimize(decodeZsk(new Uint8Array(readFileSync(file))).graph);
const session = await WebGpuSession.create(graph, {});
const name = graph.inputs[0].name;
const input = { dtype: 'float32', shape: [1, 1, 28, 28], data: new Float32Array(784).fill(0.5) };
for (let i = 0; i < 300; i++) await session.run({ [name]: input });
const t = [];
for (let i = 0; i < Number(runs); i++) {
  const t0 = performance.now();
  await session.run({ [name]: input });
  t.push(performance.now() - t0);
}
t.sort((a, b) => a - b);
const p = session.profile ? await session.profile({ [name]: input }) : undefined;
console.log(JSON.stringify({ file, median: t[t.length >> 1], p10: t[Math.floor(t.length * 0.1)], p90: t[Math.floor(t.length * 0.9)], gpuMs: p?.ms, plan: session.plan.map((e) => e.kernel) }));
session.destroy();
process.exit(0);
