import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO } from './examples.js';

/** The packages a consumer installs, by the folder under packages/ that each is built in. */
const PUBLIC_PACKAGES = ['sparse', 'quant', 'gpu', 'runtime', 'train'] as const;

/**
 * Every public entry point but @zeroskip/train's, and code that uses the WebGPU types through them: a
 * consumer that never installed @webgpu/types itself must still see GPUDevice.
 */
const CONSUMER_SOURCE = `import * as sparse from '@zeroskip/sparse';
import * as quant from '@zeroskip/quant';
import * as gpu from '@zeroskip/gpu';
import * as conformance from '@zeroskip/gpu/conformance';
import * as runtime from '@zeroskip/runtime';

export { conformance, gpu, quant, runtime, sparse };

export async function device(): Promise<GPUDevice> {
  const g: gpu.Gpu = await gpu.requestDevice();
  return g.device;
}

export async function run(graph: runtime.Graph, input: runtime.Tensor): Promise<runtime.Tensor | undefined> {
  const session = await runtime.WebGpuSession.create(graph, { plan: 'auto' });
  const outputs = await session.run({ input });
  session.destroy();
  return outputs.output;
}
`;

/**
 * @zeroskip/train's declarations import TF.js's, which do not compile without skipLibCheck: they use
 * `Long` from @types/long without referencing it, and pin @webgpu/types 0.1.38, whose globals clash
 * with the newer ones of @zeroskip/gpu.
 */
const TRAIN_SOURCE = `import * as train from '@zeroskip/train';
import { decodeZsk, runCpu } from '@zeroskip/runtime';

export { train };

export async function scores(pixels: Float32Array): Promise<Float32Array | undefined> {
  const { graph } = decodeZsk(await train.loadPretrained('binarynet'));
  const input = { dtype: 'float32' as const, shape: [1, 1, train.IMAGE_SIZE, train.IMAGE_SIZE], data: pixels };
  return runCpu(graph, { [train.GRAPH_INPUT]: input })[train.GRAPH_OUTPUT]?.data as Float32Array | undefined;
}
`;

/** A strict consumer's compiler settings: no skipLibCheck, nothing WebGPU-specific. */
export const MODULE_SETTINGS = {
  bundler: { module: 'ESNext', moduleResolution: 'bundler' },
  node16: { module: 'node16', moduleResolution: 'node16' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
} as const;

/**
 * Type-checks a fresh consumer project against the built packages, linked into its node_modules as a
 * package manager would (no network). Resolves with tsc's output; rejects with it when tsc fails.
 */
export async function typecheckConsumer(
  settings: Readonly<Record<string, string | boolean>>,
  withTrain = false,
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'zs-consumer-'));
  try {
    const scope = join(dir, 'node_modules', '@zeroskip');
    mkdirSync(scope, { recursive: true });
    for (const p of PUBLIC_PACKAGES) symlinkSync(join(REPO, 'packages', p), join(scope, p), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }));
    writeFileSync(join(dir, 'index.ts'), CONSUMER_SOURCE);
    const files = ['index.ts'];
    if (withTrain) {
      writeFileSync(join(dir, 'train.ts'), TRAIN_SOURCE);
      files.push('train.ts');
    }
    const compilerOptions = { target: 'ES2022', strict: true, noEmit: true, ...settings };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [tsc, '-p', dir], { cwd: dir });
      return stdout;
    } catch (e) {
      throw new Error(
        `tsc failed for ${JSON.stringify(compilerOptions)}:\n${(e as { stdout?: string }).stdout}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
