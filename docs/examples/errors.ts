import { GpuError } from '@zeroskip/gpu';
import {
  decodeZsk,
  float32,
  type Graph,
  RuntimeError,
  runCpu,
  type Tensor,
  WebGpuSession,
  ZOO,
} from '@zeroskip/runtime';

// Every failure is a typed error with a code; its message says what is wrong and what to do.
try {
  decodeZsk(new Uint8Array(64)); // not a .zsk file
} catch (e) {
  if (!(e instanceof RuntimeError) || e.code !== 'corrupt-file') throw e;
  console.log(`${e.name} ${e.code}: ${e.message}`);
}

const graph = ZOO['lenet-300-100']?.build({ seed: 0 });
if (!graph) throw new Error('no lenet-300-100 in the zoo');
try {
  runCpu(graph, { input: float32([1, 3, 28, 28]) }); // the model takes 1 channel
} catch (e) {
  if (!(e instanceof RuntimeError) || e.code !== 'invalid-input') throw e;
  console.log(`${e.name} ${e.code}: ${e.message}`);
}

/** WebGPU where there is an adapter, else the CPU executor: a missing adapter is a GpuError 'no-adapter'. */
async function runAnywhere(g: Graph, inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  let session: WebGpuSession;
  try {
    session = await WebGpuSession.create(g);
  } catch (e) {
    if (e instanceof GpuError && e.code === 'no-adapter') return runCpu(g, inputs);
    throw e;
  }
  try {
    return await session.run(inputs);
  } finally {
    session.destroy();
  }
}
const { output } = await runAnywhere(graph, { input: float32([1, 1, 28, 28]) });
console.log(`scores [${output?.shape.join(', ')}]`);
