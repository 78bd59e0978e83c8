import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { GpuError } from '@zeroskip/gpu';
import {
  compressModel,
  decodeZsk,
  encodeZsk,
  exportOnnx,
  type Graph,
  importOnnx,
  optimize,
  parameterCount,
  RuntimeError,
  readNpy,
  runCpu,
  type SessionProfile,
  type Tensor,
  WebGpuSession,
  writeNpy,
  ZOO,
} from '@zeroskip/runtime';
import { FormatError } from '@zeroskip/sparse';
import { loadPretrained, PRETRAINED, TrainError } from '@zeroskip/train';
import { FileError, integerOption, parseCommandArgs, readFile, UsageError, writeOutput } from './args.js';
import { compressTable, parseCompressArgs } from './compress-args.js';
import { decodeImage } from './image.js';
import { makeInput } from './input-command.js';
import { inspectGraph, inspectTable } from './inspect.js';
import { trainCommand } from './train-command.js';
import { zooRows, zooTable } from './zoo-list.js';

const USAGE = `usage:
  zeroskip inspect <model.onnx|model.zsk> [--json]
  zeroskip compress <in.onnx|in.zsk> -o <out.zsk> [--prune R | --prune-table FILE] [--prune-global]
               [--cluster BITS | --cluster conv=8,fc=5] [--huffman] [--binarize LAYERS] [--ternary LAYERS]
               [--dorefa W,A] [--quantize-first-last] [--json]
  zeroskip zoo --list [--json]     (every model with its size)
  zeroskip zoo <name> -o <file.zsk|file.onnx> [--seed N] [--size N]     (names: ${Object.keys(ZOO).join(', ')})
  zeroskip zoo <name> --pretrained -o <file.zsk>     (trained MNIST models: ${Object.keys(PRETRAINED).join(', ')})
  zeroskip train <name> -o <file.zsk> [--backend webgpu|cpu (default webgpu)] [--epochs N]   (reproduces a pretrained model)
  zeroskip input <model.onnx|model.zsk> -o <x.npy> [--seed N | --image file.png|file.jpg] [--batch N] [--name INPUT]
               (random values in [0, 1), or the image resized to the model's H×W and scaled to [0, 1])
  zeroskip run <model.onnx|model.zsk> --input <x.npy> [--input NAME=x.npy …] --output <y.npy> [--output NAME=y.npy …]
               [--backend cpu|webgpu (default cpu)] [--plan auto|dense|sparse|tuned] [--profile] [--json]
options: --verbose (stack traces on errors), --help; output folders are created as needed`;

/** The usage lines of one command (its line and the indented lines that continue it), or all of them. */
function commandUsage(command: string): string {
  const lines = USAGE.split('\n');
  const own: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (line.startsWith('  zeroskip ')) inside = line.startsWith(`  zeroskip ${command} `);
    else if (!line.startsWith('    ')) inside = false;
    if (inside) own.push(line);
  }
  return own.length > 0 ? ['usage:', ...own, lines.at(-1)!].join('\n') : USAGE;
}

function loadModel(path: string): Graph {
  if (!path) throw new UsageError('name a model file.');
  const bytes = readFile(path);
  if (path.endsWith('.zsk')) return decodeZsk(bytes).graph;
  return importOnnx(bytes, { externalData: (location) => readFile(resolve(dirname(path), location)) });
}

/** `NAME=path` pairs, or one bare path for the model's only input/output. */
function pairs(list: readonly string[], names: readonly string[], what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq > 0) out.set(item.slice(0, eq), item.slice(eq + 1));
    else if (names.length === 1 && list.length === 1) out.set(names[0]!, item);
    else
      throw new UsageError(
        `the model has ${names.length} ${what}s (${names.join(', ')}): give each as --${what} NAME=file.npy.`,
      );
  }
  return out;
}

async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    input: { type: 'string', multiple: true },
    output: { type: 'string', multiple: true },
    backend: { type: 'string', default: DEFAULT_BACKEND },
    plan: { type: 'string', default: 'auto' },
    profile: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const backend = values.backend!;
  const plan = values.plan!;
  if (backend !== 'cpu' && backend !== 'webgpu')
    throw new UsageError(`--backend must be cpu or webgpu, got '${backend}'.`);
  if (!['auto', 'dense', 'sparse', 'tuned'].includes(plan))
    throw new UsageError(`--plan must be auto, dense, sparse or tuned, got '${plan}'.`);
  if (values.profile && backend !== 'webgpu')
    throw new UsageError('--profile times GPU kernels: use it with --backend webgpu.');
  const graph = optimize(loadModel(positionals[0] ?? ''));
  const inputFiles = pairs(
    values.input ?? [],
    graph.inputs.map((i) => i.name),
    'input',
  );
  const outputFiles = pairs(values.output ?? [], graph.outputs, 'output');
  if (inputFiles.size === 0) throw new UsageError('give the input as --input x.npy.');
  if (outputFiles.size === 0) throw new UsageError('give where to write the result as --output y.npy.');
  for (const name of outputFiles.keys())
    if (!graph.outputs.includes(name))
      throw new UsageError(`the model has no output '${name}'; its outputs are ${graph.outputs.join(', ')}.`);
  const inputs: Record<string, Tensor> = {};
  for (const [name, file] of inputFiles) inputs[name] = readNpy(readFile(file));

  let outputs: Record<string, Tensor>;
  let ms: number;
  let first: { ms: number; pipelines: number } | undefined;
  let kernels: { node: string; op: string; kernel: string }[] = [];
  let profile: SessionProfile | undefined;
  if (backend === 'cpu') {
    const t0 = performance.now();
    outputs = runCpu(graph, inputs);
    ms = performance.now() - t0;
  } else {
    const session = await WebGpuSession.create(graph, { plan: plan === 'tuned' ? 'auto' : (plan as 'auto') });
    try {
      if (plan === 'tuned') {
        const cache = readPlanCache();
        const onProgress = progress();
        await session.tune(inputs, { cache, ...(onProgress ? { onProgress } : {}) });
        writePlanCache(cache);
      }
      // The first run uploads weights and builds pipelines, which without a shader cache takes long.
      const t0 = performance.now();
      const pipelines = await session.compile(inputs, { onProgress: compileProgress() });
      outputs = await session.run(inputs);
      first = { ms: performance.now() - t0, pipelines };
      const times: number[] = [];
      for (let k = 0; k < TIMED_RUNS; k++) {
        const t = performance.now();
        outputs = await session.run(inputs);
        times.push(performance.now() - t);
      }
      ms = times.sort((a, b) => a - b)[times.length >> 1]!;
      if (values.profile) profile = await session.profile(inputs);
      kernels = session.plan.map(({ node, op, kernel }) => ({ node, op, kernel }));
    } finally {
      session.destroy();
    }
  }
  for (const [name, file] of outputFiles) writeOutput(file, writeNpy(outputs[name]!));
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          backend,
          plan,
          latencyMs: ms,
          ...(first ? { firstRunMs: first.ms, pipelines: first.pipelines, timedRuns: TIMED_RUNS } : {}),
          outputs: Object.fromEntries(
            [...outputFiles].map(([n, f]) => [n, { file: f, shape: outputs[n]!.shape }]),
          ),
          kernels,
          ...(profile
            ? {
                profile: {
                  gpuMs: profile.gpuMs,
                  runGpuMs: profile.runGpuMs,
                  clock: profile.clock,
                  nodes: profile.nodes,
                },
              }
            : {}),
        },
        null,
        2,
      ),
    );
    return;
  }
  console.log(backendLine(backend));
  console.log(
    first
      ? `latency: ${ms.toFixed(2)} ms steady state (plan ${plan}; median of ${TIMED_RUNS} runs, weights resident)\n` +
          `first run: ${first.ms.toFixed(2)} ms (weight upload and ${first.pipelines} pipeline compiles included)`
      : `latency: ${ms.toFixed(2)} ms`,
  );
  for (const [name, file] of outputFiles)
    console.log(`wrote ${name} [${outputs[name]!.shape.join(', ')}] to ${file}`);
  if (kernels.length) {
    const counts = new Map<string, number>();
    for (const k of kernels) counts.set(k.kernel, (counts.get(k.kernel) ?? 0) + 1);
    console.log(`plan: ${[...counts].map(([k, n]) => `${n}× ${k}`).join(', ')}`);
  }
  if (profile) printProfile(profile);
}

/** Runs timed after the first, whose median is the steady-state latency. */
const TIMED_RUNS = 5;

/**
 * Progress of pipeline compiles on stderr: one line redrawn on a terminal; otherwise a line at each
 * quarter, so that logs show the wait without a line per pipeline.
 */
function compileProgress(): (done: number, total: number, pipeline: string) => void {
  const tty = process.stderr.isTTY;
  let shown = 0;
  return (done, total) => {
    if (tty) {
      process.stderr.write(`\rcompiling pipelines: ${done}/${total}`);
      if (done === total) process.stderr.write('\n');
    } else if (done === total || done * 4 >= (shown + 1) * total) {
      shown = Math.floor((done * 4) / total);
      process.stderr.write(`compiling pipelines: ${done}/${total}\n`);
    }
  };
}

/** `run` executes on the CPU unless told otherwise: WebGPU needs an adapter, which not every machine has. */
const DEFAULT_BACKEND = 'cpu';

/** Which executor ran, whether by default, and how to pick the other one. */
function backendLine(backend: 'cpu' | 'webgpu'): string {
  const other =
    backend === 'cpu' ? '--backend webgpu for the WebGPU executor' : '--backend cpu for the CPU executor';
  return `backend: ${backend} (${backend === DEFAULT_BACKEND ? 'default; ' : ''}${other})`;
}

/** GPU time against wall time, then the nodes that take the most. */
function printProfile(p: SessionProfile): void {
  console.log(
    `profile: ${p.gpuMs.toFixed(3)} ms of GPU work (${p.clock}) in a ${p.wallMs.toFixed(2)} ms profiled run; ${p.runGpuMs.toFixed(3)} ms as an untimed run records it (a pass per dispatch costs GPU time too)`,
  );
  const top = [...p.nodes].sort((a, b) => b.ms - a.ms).slice(0, 10);
  const width = (key: 'node' | 'op' | 'kernel') => Math.max(...top.map((n) => n[key].length));
  for (const n of top)
    console.log(
      `  ${n.node.padEnd(width('node'))}  ${n.op.padEnd(width('op'))}  ${n.kernel.padEnd(width('kernel'))}  ${n.ms.toFixed(3)} ms`,
    );
}

/** Tuned kernel choices persist here, per adapter and layer shape. */
const PLAN_CACHE = resolve(
  process.env.XDG_CACHE_HOME ?? resolve(homedir(), '.cache'),
  'zeroskip',
  'plans.json',
);

function readPlanCache(): Record<string, string> {
  try {
    const parsed = JSON.parse(readFileSync(PLAN_CACHE, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

function writePlanCache(cache: Record<string, string>): void {
  try {
    mkdirSync(dirname(PLAN_CACHE), { recursive: true });
    writeFileSync(PLAN_CACHE, JSON.stringify(cache, null, 1));
  } catch {
    // an unwritable cache only means tuning again next time
  }
}

function progress(): ((done: number, total: number, layer: string) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total, layer) => {
    const width = 30;
    const filled = Math.round((done / total) * width);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${layer}`
        .slice(0, 79)
        .padEnd(79),
    );
    if (done === total) process.stderr.write(`\r${' '.repeat(79)}\r`);
  };
}

function compress(args: string[]): void {
  const { input, output, options, json } = parseCompressArgs(args, (file) => readFile(file));
  const graph = optimize(loadModel(input));
  const onProgress = progress();
  const c = compressModel(graph, { ...options, ...(onProgress ? { onProgress } : {}) });
  const bytes = encodeZsk(c.graph, c.encodings, c.meta);
  writeOutput(output, bytes);
  console.log(
    json
      ? JSON.stringify(
          {
            output,
            fileBytes: bytes.length,
            ...c.total,
            fileRatio: c.total.denseBytes / bytes.length,
            layers: c.rows,
          },
          null,
          2,
        )
      : compressTable(c, output, bytes.length),
  );
}

async function zoo(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, {
    output: { type: 'string', short: 'o' },
    pretrained: { type: 'boolean' },
    seed: { type: 'string' },
    size: { type: 'string' },
    list: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const name = positionals[0] ?? '';
  if (values.list) {
    if (name) throw new UsageError(`--list lists every model; drop '${name}'.`);
    const rows = await zooRows();
    console.log(values.json ? JSON.stringify(rows, null, 2) : zooTable(rows));
    return;
  }
  if (values.pretrained) {
    if (!Object.hasOwn(PRETRAINED, name))
      throw new UsageError(
        `no pretrained model '${name}'; the trained ones are ${Object.keys(PRETRAINED).join(', ')}.`,
      );
    if (!values.output?.endsWith('.zsk')) throw new UsageError('name the output file with -o model.zsk.');
    const bytes = await loadPretrained(name);
    writeOutput(values.output, bytes);
    console.log(
      `${name}, ${PRETRAINED[name as keyof typeof PRETRAINED]}: ${bytes.length} bytes → ${values.output}`,
    );
    return;
  }
  const entry = ZOO[name];
  if (!entry)
    throw new UsageError(
      name
        ? `unknown zoo model '${name}'; 'zeroskip zoo --list' lists them.`
        : 'name a zoo model, or give --list.',
    );
  if (!values.output || !/\.(zsk|onnx)$/.test(values.output))
    throw new UsageError('name the output file with -o model.zsk or -o model.onnx.');
  const size = integerOption(values.size, '--size', 1);
  const graph = entry.build({
    seed: integerOption(values.seed, '--seed', 0) ?? 0,
    ...(size !== undefined ? { size } : {}),
  });
  const inputShape = graph.inputs[0]!.shape;
  if (size !== undefined && inputShape.at(-1) !== size)
    throw new UsageError(`${name} takes a fixed ${inputShape.slice(-2).join('×')} input: drop --size.`);
  if (values.output.endsWith('.onnx')) writeOutput(values.output, exportOnnx(graph));
  else if (entry.compression) {
    const c = compressModel(optimize(graph), entry.compression);
    writeOutput(values.output, encodeZsk(c.graph, c.encodings, c.meta));
  } else writeOutput(values.output, encodeZsk(graph));
  console.log(
    `${entry.description}: ${parameterCount(graph)} parameters, input [${inputShape.join(', ')}]${entry.compression ? `, weights ${JSON.stringify(entry.compression)}` : ''} → ${values.output}`,
  );
}

function inspect(args: string[]): void {
  const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } });
  const path = positionals[0] ?? '';
  const zsk = path.endsWith('.zsk') ? decodeZsk(readFile(path)) : undefined;
  const graph = zsk?.graph ?? loadModel(path);
  const report = inspectGraph(optimize(graph), graph, zsk?.encodings);
  console.log(values.json ? JSON.stringify(report, null, 2) : inspectTable(report));
}

function input(args: string[]): void {
  const { values, positionals } = parseCommandArgs(args, {
    output: { type: 'string', short: 'o' },
    seed: { type: 'string' },
    image: { type: 'string' },
    batch: { type: 'string' },
    name: { type: 'string' },
  });
  if (!values.output?.endsWith('.npy')) throw new UsageError('name the output file with -o input.npy.');
  if (values.image !== undefined && values.seed !== undefined)
    throw new UsageError('give --seed for random values or --image for an image, not both.');
  const seed = integerOption(values.seed, '--seed', 0);
  const batch = integerOption(values.batch, '--batch', 1);
  const graph = loadModel(positionals[0] ?? '');
  const names = graph.inputs.map((i) => i.name);
  const chosen =
    values.name !== undefined
      ? graph.inputs.find((i) => i.name === values.name)
      : graph.inputs.length === 1
        ? graph.inputs[0]
        : undefined;
  if (!chosen)
    throw new UsageError(
      values.name !== undefined
        ? `the model has no input '${values.name}'; its inputs are ${names.join(', ')}.`
        : `the model has ${names.length} inputs (${names.join(', ')}): pick one with --name.`,
    );
  const x = makeInput(chosen, {
    ...(seed !== undefined ? { seed } : {}),
    ...(batch !== undefined ? { batch } : {}),
    ...(values.image !== undefined ? { image: decodeImage(readFile(values.image), values.image) } : {}),
  });
  writeOutput(values.output, writeNpy(x));
  console.log(
    `wrote ${chosen.name} [${x.shape.join(', ')}] float32 to ${values.output}: ${values.image ?? `uniform [0, 1) from seed ${seed ?? 0}`}`,
  );
}

const COMMANDS: Readonly<Record<string, (args: string[]) => void | Promise<void>>> = {
  inspect,
  compress,
  zoo,
  train: trainCommand,
  input,
  run,
};

/** The line under an error: where the usage is, or what to do instead. */
function hint(e: unknown, prefix: string): string | undefined {
  if (e instanceof UsageError) return `run '${prefix} --help' for usage`;
  if (e instanceof GpuError && e.code === 'no-adapter')
    return 'the CPU executor needs no adapter: use --backend cpu (the default of zeroskip run)';
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const verbose = argv.includes('--verbose');
  try {
    if (!command || command === '--help' || command === 'help') {
      console.log(USAGE);
      return command ? 0 : 2;
    }
    if (command === '--version') {
      console.log(createRequire(import.meta.url)('../package.json').version);
      return 0;
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(commandUsage(command));
      return 0;
    }
    if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command '${command}'.`);
    await COMMANDS[command]!(rest);
    return 0;
  } catch (e) {
    const usage = e instanceof UsageError;
    // anything else is a bug, and its stack trace is what a report of it needs
    const expected =
      usage ||
      e instanceof FileError ||
      e instanceof RuntimeError ||
      e instanceof GpuError ||
      e instanceof FormatError ||
      e instanceof TrainError;
    const prefix = command && Object.hasOwn(COMMANDS, command) ? `zeroskip ${command}` : 'zeroskip';
    console.error(`${prefix}: ${(e as Error).message}`);
    const next = hint(e, prefix);
    if (next) console.error(next);
    if (verbose || !expected) console.error((e as Error).stack);
    return usage ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
