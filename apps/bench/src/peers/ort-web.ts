import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportOnnx, type Graph, type Tensor } from '@zeroskip/runtime';
import { summarize, type Timing } from '../measure.js';

/** The layouts ORT-web's WebGPU EP can run convolutions in; its default, NHWC, is not always right. */
export type OrtWebLayout = 'NCHW' | 'NHWC';

type Reply = { reason: string } | { version: string } | { output: Float32Array } | { samples: number[] };

/**
 * The child script: beside this module when run from source, under peers/ beside the bundle that
 * inlines this module otherwise.
 */
function childScript(): string | undefined {
  return ['./ort-web-child.mjs', './peers/ort-web-child.js']
    .map((p) => fileURLToPath(new URL(p, import.meta.url)))
    .find((p) => existsSync(p));
}

/** Last lines of the child's stderr, so that a crash names its cause. */
const STDERR_TAIL = 2000;
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
  private stderr = '';
  private exited: string | undefined;
  private hung = false;
  private ortVersion = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {}

  /** A started peer, or why it cannot run here (no adapter, package or wasm missing, ORT failing to load). */
  static async start(): Promise<OrtWeb | { reason: string }> {
    const script = childScript();
    if (!script) return { reason: 'the onnxruntime-web child script is missing beside this module' };
    const child = fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const peer = new OrtWeb(child, await mkdtemp(join(tmpdir(), 'zeroskip-ort-web-')));
    child.stderr?.on('data', (d: Buffer) => {
      peer.stderr = (peer.stderr + d.toString()).slice(-STDERR_TAIL);
    });
    const ready = await peer.reply();
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

  /** The child's next message, or its failure as a reason once it has ended (and its stderr is read). */
  private reply(): Promise<Reply> {
    if (this.exited) return Promise.resolve({ reason: this.exited });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.hung = true;
        this.child.kill('SIGKILL');
      }, REPLY_TIMEOUT_MS);
      const onMessage = (m: Reply) => {
        clearTimeout(timer);
        this.child.off('close', onClose);
        resolve(m);
      };
      const onClose = (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        const last = this.stderr.trim().split('\n').at(-1);
        this.exited = this.hung
          ? `the onnxruntime-web process did not answer within ${REPLY_TIMEOUT_MS / 1000} s and was stopped`
          : `the onnxruntime-web process ended (${signal ?? `exit code ${code}`})${last ? `: ${last}` : ''}`;
        resolve({ reason: this.exited });
      };
      this.child.once('message', onMessage);
      this.child.once('close', onClose);
    });
  }

  private async ask(request: object): Promise<Reply> {
    if (this.exited) return { reason: this.exited };
    const answer = this.reply();
    this.child.send(request);
    return answer;
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
      const r = await this.ask({
        open: { model, inputName: graph.inputs[0]!.name, shape: input.shape, data: input.data, layout },
      });
      return 'output' in r || 'reason' in r ? r : { reason: 'unexpected reply to open' };
    } finally {
      await rm(model, { force: true });
    }
  }

  /** Wall time of session.run on the open session, input upload to output read-back. */
  async time(warmup: number, iterations: number): Promise<Timing | { reason: string }> {
    const r = await this.ask({ time: { warmup, iterations } });
    if ('samples' in r) return summarize(r.samples);
    return 'reason' in r ? r : { reason: 'unexpected reply to time' };
  }

  async close(): Promise<void> {
    if (!this.exited) this.child.kill('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}
