import { exportOnnx, type Graph, type Tensor } from '@zeroskip/runtime';
import { measureWall, type Timing } from '../measure.js';

type Ort = typeof import('onnxruntime-node');

/**
 * onnxruntime-node, or why it is missing. It is a native addon, so one-file bundles leave it out and
 * load it from a node_modules beside them where one exists.
 */
export async function loadOrt(): Promise<{ ort: Ort; version: string } | { reason: string }> {
  try {
    const ort = (await import('onnxruntime-node')) as Ort;
    return { ort, version: ort.env.versions.node ?? ort.env.versions.common };
  } catch (e) {
    return { reason: `onnxruntime-node could not be loaded (${(e as Error).message.split('\n')[0]})` };
  }
}

/** Wall time of ONNX Runtime's CPU session.run on `graph` exported to ONNX, and its first output. */
export async function timeOrt(
  ort: Ort,
  graph: Graph,
  input: Tensor,
  warmup: number,
  iterations: number,
): Promise<{ timing: Timing; output: Float32Array }> {
  const session = await ort.InferenceSession.create(exportOnnx(graph), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
  });
  try {
    const feeds = {
      [graph.inputs[0]!.name]: new ort.Tensor('float32', input.data as Float32Array, input.shape),
    };
    let output: Float32Array = new Float32Array();
    const timing = await measureWall(
      async () => {
        const out = await session.run(feeds);
        output = out[session.outputNames[0]!]!.data as Float32Array;
      },
      { warmup, iterations },
    );
    return { timing, output };
  } finally {
    await session.release();
  }
}
