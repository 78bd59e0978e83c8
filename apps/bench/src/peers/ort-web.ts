import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportOnnx, type Graph, type Tensor } from '@zeroskip/runtime';
import { Child, scriptAt } from '../child-process.js';
import { summarize, type Timing } from '../measure.js';

/** The layouts ORT-web's WebGPU EP can run convolutions in; its default, NHWC, is not always right. */
export type OrtWebLayout = 'NCHW' | 'NHWC';

type Reply = { reason: string } | { version: string } | { output: Float32Array } | { samples: number[] };

/**
 * How long one request may take before the child is taken for hung and killed: far above a first
 * session's wasm and shader compilation on a software adapter, so that only a stall reaches it.
 */
const REPLY_TIMEOUT_MS = 600_000;

/**
 * ONNX Runtime Web's native WebGPU EP in a child process with its own Dawn device (the same adapter and
 * limits as Zeroskip's): V8 keeps compiling ORT's wasm long after a run and exit waits for it, so the
 * child is killed instead of awaited. One session at a time: `open` a graph, check its output, `time` it.
 */
export class OrtWeb {
  private ortVersion = '';

  private constructor(
    private readonly child: Child<Reply>,
    private readonly dir: string,
  ) {}

  /** A started peer, or why it cannot run here (no adapter, package or wasm missing, ORT failing to load). */
  static async start(): Promise<OrtWeb | { reason: string }> {
    // beside this module when run from source, under peers/ beside the bundle that inlines it otherwise
    const script = scriptAt([
      new URL('./ort-web-child.mjs', import.meta.url),
      new URL('./peers/ort-web-child.js', import.meta.url),
    ]);
    const child = Child.start<Reply>(script, 'the onnxruntime-web process', REPLY_TIMEOUT_MS);
    if ('reason' in child) return child;
    const peer = new OrtWeb(child, await mkdtemp(join(tmpdir(), 'zeroskip-ort-web-')));
    const ready = await child.reply();
    if ('reason' in ready || !('version' in ready)) {
      await peer.close();
      return {
        reason: `onnxruntime-web webgpu could not start (${'reason' in ready ? ready.reason : 'no version'})`,
      };
    }
    peer.ortVersion = ready.version;
    return peer;
  }

  /** onnxruntime-web's version, as the child reports it once ready. */
  get version(): string {
    return this.ortVersion;
  }

  /**
   * Opens a session on `graph` exported to ONNX with convolutions in `layout`, and returns its first
   * output for `input`, to be checked before anything is timed.
   */
  async open(
    graph: Graph,
    input: Tensor,
    layout: OrtWebLayout,
  ): Promise<{ output: Float32Array } | { reason: string }> {
    const model = join(this.dir, 'model.onnx');
    await writeFile(model, exportOnnx(graph));
    try {
      const r = await this.child.ask({
        open: { model, inputName: graph.inputs[0]!.name, shape: input.shape, data: input.data, layout },
      });
      return 'output' in r || 'reason' in r ? r : { reason: 'unexpected reply to open' };
    } finally {
      await rm(model, { force: true });
    }
  }

  /** Wall time of session.run on the open session, input upload to output read-back. */
  async time(warmup: number, iterations: number): Promise<Timing | { reason: string }> {
    const r = await this.child.ask({ time: { warmup, iterations } });
    if ('samples' in r) return summarize(r.samples);
    return 'reason' in r ? r : { reason: 'unexpected reply to time' };
  }

  async close(): Promise<void> {
    this.child.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
