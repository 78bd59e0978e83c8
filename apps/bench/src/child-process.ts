import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Last lines of a child's stderr, so that a crash names its cause. */
const STDERR_TAIL = 2000;

/** The first of `candidates` (URLs: beside the source module, or where the bundle keeps the script) that exists. */
export function scriptAt(candidates: readonly URL[]): string | undefined {
  return candidates.map((u) => fileURLToPath(u)).find((p) => existsSync(p));
}

/**
 * A bench script in a process of its own, driven over IPC (advanced serialization, so typed arrays
 * travel as they are): one request at a time, each answered by one message or `{ reason }`. The
 * process is killed, never awaited: Dawn and V8's background compilation can keep it alive after its
 * work is done, and a reply that does not come within `timeoutMs` is taken for a hang.
 */
export class Child<Reply extends object> {
  private stderr = '';
  private exited: string | undefined;
  private hung = false;

  private constructor(
    private readonly process: ChildProcess,
    /** What the process is, for the reasons it gives: "the onnxruntime-web process". */
    private readonly name: string,
    private readonly timeoutMs: number,
  ) {
    process.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-STDERR_TAIL);
    });
  }

  /** Starts `script` (from {@link scriptAt}), or says why not. */
  static start<R extends object>(
    script: string | undefined,
    name: string,
    timeoutMs: number,
  ): Child<R> | { reason: string } {
    if (!script) return { reason: `the script of ${name} is missing beside this module` };
    const child = fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    return new Child<R>(child, name, timeoutMs);
  }

  /** The child's next message, or its failure as a reason once it has ended (and its stderr is read). */
  reply(): Promise<Reply | { reason: string }> {
    if (this.exited) return Promise.resolve({ reason: this.exited });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.hung = true;
        this.process.kill('SIGKILL');
      }, this.timeoutMs);
      const onMessage = (m: Reply) => {
        clearTimeout(timer);
        this.process.off('close', onClose);
        resolve(m);
      };
      const onClose = (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        this.process.off('message', onMessage);
        const last = this.stderr.trim().split('\n').at(-1);
        this.exited = this.hung
          ? `${this.name} did not answer within ${this.timeoutMs / 1000} s and was stopped`
          : `${this.name} ended (${signal ?? `exit code ${code}`})${last ? `: ${last}` : ''}`;
        resolve({ reason: this.exited });
      };
      this.process.once('message', onMessage);
      this.process.once('close', onClose);
    });
  }

  /** Sends `request` and waits for its reply. */
  async ask(request: object): Promise<Reply | { reason: string }> {
    if (this.exited) return { reason: this.exited };
    const answer = this.reply();
    this.process.send(request);
    return answer;
  }

  kill(): void {
    if (!this.exited) this.process.kill('SIGKILL');
  }
}
