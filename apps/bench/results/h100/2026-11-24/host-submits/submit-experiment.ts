// Wall time of the pruned networks' auto plan at batch 1, from an array and from an upload tensor, for
// three ways of submitting a run, sampled in turns in one process (one GPU clock state for all):
//   fixed16: a command buffer every 16 dispatches (before);
//   doubling: the first buffer holds 1 dispatch, then 2, 4, … up to 16 (after);
//   doubling-noscopes: as doubling, without the run's two error scopes (what they cost).
import { type Gpu, Recorder, requestDevice } from '@zeroskip/gpu';
import { type Tensor, WebGpuSession } from '@zeroskip/runtime';
import { measureInterleaved, runFromUploadTensors, type Work } from '../measure.js';
import { pruned } from '../tables/networks.js';
import { seededInput } from '../zoo-graphs.js';

type Way = 'fixed16' | 'doubling' | 'doubling-noscopes';
let way: Way = 'doubling';
const proto = Recorder.prototype as unknown as { encode(c: unknown): void; chunk: number };
const encode = proto.encode;
proto.encode = function (this: { chunk: number }, c: unknown) {
  if (way === 'fixed16') this.chunk = 16;
  encode.call(this, c);
};
function scopesOff(gpu: Gpu): void {
  const d = gpu.device;
  const push = d.pushErrorScope.bind(d);
  const pop = d.popErrorScope.bind(d);
  d.pushErrorScope = (f) => {
    if (way !== 'doubling-noscopes') push(f);
  };
  d.popErrorScope = () => (way === 'doubling-noscopes' ? Promise.resolve(null) : pop());
}

const [names = 'alexnet,googlenet,resnet-50,vgg-16', batch = '1', iterations = '300'] = process.argv.slice(2);
const ways: Way[] = ['fixed16', 'doubling', 'doubling-noscopes'];
const gpu = await requestDevice();
scopesOff(gpu);
for (const name of names.split(',')) {
  const t0 = performance.now();
  const graph = pruned(name, 42, Number(batch));
  const input: Tensor = seededInput(graph, 43);
  const feeds = { [graph.inputs[0]!.name]: input };
  const session = await WebGpuSession.create(graph, { gpu, plan: 'auto' });
  for (let i = 0; i < 20; i++) await session.run(feeds);
  const upload = runFromUploadTensors(session, feeds);
  const works: Work[] = ways.flatMap((w): Work[] => [
    () => {
      way = w;
      return session.run(feeds);
    },
    {
      arm: () => {
        const run = upload.arm();
        return () => {
          way = w;
          return run();
        };
      },
    },
  ]);
  const t = await measureInterleaved(works, { warmup: 20, iterations: Number(iterations), gpu });
  way = 'doubling';
  const profile = await session.profile(feeds);
  const row: Record<string, unknown> = { name, batch: Number(batch), gpuMs: profile.gpuMs, dispatches: profile.nodes.length };
  ways.forEach((w, i) => {
    row[`${w} array`] = [t[2 * i]!.median, t[2 * i]!.p10, t[2 * i]!.p90];
    row[`${w} upload`] = [t[2 * i + 1]!.median, t[2 * i + 1]!.p10, t[2 * i + 1]!.p90];
  });
  row.seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify(row));
  session.destroy();
}
gpu.destroy();
process.exit(0);
