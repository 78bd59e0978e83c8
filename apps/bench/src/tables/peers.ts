import { availableParallelism } from 'node:os';
import { Conv2dLayer, type Gpu, type GpuTensor } from '@zeroskip/gpu';
import { pruneByRate } from '@zeroskip/quant';
import { type Graph, type Tensor, WebGpuSession } from '@zeroskip/runtime';
import { heatGpu } from '../gpu-clocks.js';
import { type ConvLayerShape, PAPER_LAYERS, QUICK_LAYERS } from '../layers-zoo.js';
import {
  type MeasureOptions,
  measureInterleaved,
  measureWall,
  profileSession,
  type Timing,
  timeGpu,
} from '../measure.js';
import { loadOrt, timeOrt } from '../peers/ort.js';
import { OrtWeb, type OrtWebLayout } from '../peers/ort-web.js';
import { relativeDiff } from '../peers/relative-diff.js';
import { TfjsConv, type TfjsOnDevice, tfjsOnDevice } from '../peers/tfjs.js';
import { openTfjsNetwork } from '../peers/tfjs-network.js';
import type { BenchContext, BenchResult, BenchTable, Clock } from '../results.js';
import { gaussian } from '../rng.js';
import { benchNetworks, seededInput } from '../zoo-graphs.js';
import { pruned } from './networks.js';

const timeRow = (c: string, params: BenchResult['params'], t: Timing & { clock: string }): BenchResult => ({
  table: 'peers',
  case: c,
  params,
  metric: 'time',
  unit: 'ms',
  value: t.median,
  timing: { ...t, clock: t.clock as Clock },
});

const skipRow = (c: string, params: BenchResult['params'], reason: string): BenchResult => ({
  table: 'peers',
  case: c,
  params: { ...params, skipped: reason },
  metric: 'time',
  unit: 'ms',
  value: Number.NaN,
});

const ratioRow = (c: string, params: BenchResult['params'], value: number): BenchResult => ({
  table: 'peers',
  case: c,
  params,
  metric: 'speedup',
  unit: '×',
  value,
});

/** TF.js conv2d beside Zeroskip's dense implicit GEMM and direct sparse kernels on one layer. */
async function convPeers(
  gpu: Gpu,
  peer: TfjsOnDevice,
  l: ConvLayerShape,
  batch: number,
  seed: number,
  [warmup, iterations]: readonly [number, number],
): Promise<BenchResult[]> {
  const name = `${l.network} ${l.name}`;
  const [c, h, w] = l.input;
  const shape = [l.outputs, c / l.groups, l.kernel, l.kernel] as const;
  const weights = gaussian(
    shape.reduce((a, b) => a * b, 1),
    seed,
  );
  const xData = gaussian(batch * c * h * w, seed + 1);
  const sparsity = l.paperSparsity ?? 0.9;
  const spec = {
    shape,
    pads: [l.pad, l.pad, l.pad, l.pad],
    stride: [l.stride, l.stride],
    groups: l.groups,
  } as const;
  const out: BenchResult[] = [];
  const x = gpu.tensor([batch, c, h, w], xData);
  const tfConv = new TfjsConv(peer, {
    input: [batch, c, h, w],
    x: xData,
    shape,
    weights,
    pad: l.pad,
    stride: l.stride,
    groups: l.groups,
  });
  const dense = new Conv2dLayer(gpu, { ...spec, weights, algorithm: 'implicit-gemm' });
  const sparse = new Conv2dLayer(gpu, {
    ...spec,
    weights: pruneByRate(weights, sparsity).weights,
    algorithm: 'direct-sparse',
  });
  try {
    // The same convolution or no figure: TF.js's output against Zeroskip's (batch 1 keeps the read-back small).
    let check: { 'max rel diff'?: string } = {};
    if (batch === 1) {
      let y: GpuTensor | undefined;
      await gpu.submit((r) => {
        y = dense.encode(r, x);
      });
      const want = await gpu.read(y!);
      gpu.release(y!);
      const diff = relativeDiff(await tfConv.output(), want);
      if (!(diff < 1e-4))
        throw new Error(`TF.js and Zeroskip disagree on ${name} (relative difference ${diff}).`);
      check = { 'max rel diff': diff.toExponential(1) };
    }
    const shapeLabel = `${c}x${h}x${w}->${l.outputs} k${l.kernel} g${l.groups}`;
    const base = { batch, shape: shapeLabel, seed };
    const tf = await tfConv.time(gpu, warmup, iterations);
    out.push(timeRow(name, { impl: `tfjs-webgpu ${peer.version} conv2d`, ...base, ...check }, tf));
    const own = [
      [
        'zeroskip implicit-gemm',
        await timeGpu(gpu, (r) => gpu.release(dense.encode(r, x)), warmup, iterations),
        {},
      ],
      [
        'zeroskip direct-sparse',
        await timeGpu(gpu, (r) => gpu.release(sparse.encode(r, x)), warmup, iterations),
        { sparsity },
      ],
    ] as const;
    for (const [impl, t, extra] of own) out.push(timeRow(name, { impl, ...base, ...extra }, t));
    for (const [impl, t, extra] of own)
      out.push(ratioRow(name, { impl, batch, over: 'tfjs-webgpu', ...extra }, tf.median / t.median));
  } catch (e) {
    out.push(skipRow(name, { impl: 'tfjs-webgpu', batch }, (e as Error).message));
  } finally {
    tfConv.dispose();
    dense.destroy();
    sparse.destroy();
    gpu.release(x);
  }
  return out;
}

type Ort = Extract<Awaited<ReturnType<typeof loadOrt>>, { ort: unknown }>;

/** Largest relative difference at which a peer's outputs count as Zeroskip's (float sums in another order). */
const AGREE = 1e-3;

/** What Zeroskip's auto plan computed and how fast, for the peers to be checked and timed against. */
interface Own {
  readonly c: string;
  readonly batch: number;
  readonly graph: Graph;
  readonly input: Tensor;
  readonly output: Float32Array;
  readonly timing: Timing;
  /** The dense plan's time on the same graph: the baseline a peer that runs pruned weights dense meets. */
  readonly dense: Timing;
}

/** Why a peer whose output differs from Zeroskip's by `diff` (relative) is not timed. */
const disagree = (diff: number) => `outputs disagree (relative difference ${diff})`;

/** A peer's wall-time row (`params`) and the speedups of Zeroskip's auto and dense plans over it (`over`). */
function peerRows(own: Own, over: string, params: BenchResult['params'], timing: Timing): BenchResult[] {
  return [
    timeRow(own.c, params, { ...timing, clock: 'wall' }),
    ...(
      [
        ['auto', own.timing],
        ['dense', own.dense],
      ] as const
    ).map(([plan, t]) =>
      ratioRow(
        own.c,
        { impl: `zeroskip-webgpu ${plan} plan`, batch: own.batch, over },
        timing.median / t.median,
      ),
    ),
  ];
}

/** ONNX Runtime's CPU provider on the network, or why not. */
async function ortCpuRows(
  ort: Ort | { reason: string },
  own: Own,
  runs: MeasureOptions,
): Promise<BenchResult[]> {
  const { c, batch } = own;
  const impl = 'onnxruntime-node cpu';
  if ('reason' in ort) return [skipRow(c, { impl, batch }, ort.reason)];
  const peer = await timeOrt(ort.ort, own.graph, own.input, runs.warmup, runs.iterations);
  const diff = relativeDiff(own.output, peer.output);
  if (!(diff < AGREE)) return [skipRow(c, { impl, batch }, disagree(diff))];
  return peerRows(
    own,
    impl,
    {
      impl: `onnxruntime-node ${ort.version} cpu`,
      batch,
      threads: `default of ${availableParallelism()}`,
      'max rel diff': diff.toExponential(1),
    },
    peer.timing,
  );
}

/** ORT-web in one convolution layout: checked against Zeroskip's output, and timed only if it agrees. */
async function ortWebLayout(
  ortWeb: OrtWeb,
  own: Own,
  layout: OrtWebLayout,
  runs: MeasureOptions,
): Promise<{ layout: OrtWebLayout; diff: number; timing: Timing } | { reason: string }> {
  const opened = await ortWeb.open(own.graph, own.input, layout);
  if ('reason' in opened) return { reason: `${layout}: ${opened.reason}` };
  const diff = relativeDiff(own.output, opened.output);
  if (!(diff < AGREE)) return { reason: `${layout}: ${disagree(diff)}` };
  // its process times on the same GPU: the clocks are raised here, right before its warm-up
  if (runs.gpu) await heatGpu(runs.gpu);
  const timing = await ortWeb.time(runs.warmup, runs.iterations);
  return 'reason' in timing ? { reason: `${layout}: ${timing.reason}` } : { layout, diff, timing };
}

/**
 * ONNX Runtime Web's WebGPU EP on the network in both convolution layouts (its default NHWC is wrong on
 * some convs); the faster layout that agrees is the row, the other beside it.
 */
async function ortWebRows(
  ortWeb: OrtWeb | { reason: string },
  own: Own,
  runs: MeasureOptions,
): Promise<BenchResult[]> {
  const { c, batch } = own;
  const impl = 'onnxruntime-web webgpu';
  if ('reason' in ortWeb) return [skipRow(c, { impl, batch }, ortWeb.reason)];
  const tried = [];
  for (const layout of ['NHWC', 'NCHW'] as const) tried.push(await ortWebLayout(ortWeb, own, layout, runs));
  const failed = tried.flatMap((t) => ('reason' in t ? [t.reason] : []));
  const [best, other] = tried
    .flatMap((t) => ('reason' in t ? [] : [t]))
    .sort((a, b) => a.timing.median - b.timing.median);
  if (!best) return [skipRow(c, { impl, batch }, failed.join('; '))];
  return peerRows(
    own,
    impl,
    {
      impl: `onnxruntime-web ${ortWeb.version} webgpu`,
      batch,
      layout: best.layout,
      'other layout': other ? `${other.layout} ${other.timing.median.toFixed(3)} ms` : failed.join('; '),
      'max rel diff': best.diff.toExponential(1),
    },
    best.timing,
  );
}

/**
 * TF.js's WebGPU backend on the same device running the network as TF.js ops, translated once: checked
 * against Zeroskip's output, and timed only if it agrees.
 */
async function tfjsNetworkRows(tfjs: TfjsOnDevice, own: Own, runs: MeasureOptions): Promise<BenchResult[]> {
  const { c, batch } = own;
  const impl = 'tfjs-webgpu';
  const net = openTfjsNetwork(tfjs, own.graph, own.input);
  if ('reason' in net) return [skipRow(c, { impl, batch }, net.reason)];
  try {
    const diff = relativeDiff(await net.run(), own.output);
    if (!(diff < AGREE)) return [skipRow(c, { impl, batch }, disagree(diff))];
    const timing = await measureWall(() => net.run(), runs);
    return peerRows(
      own,
      impl,
      { impl: `tfjs-webgpu ${tfjs.version}`, batch, 'max rel diff': diff.toExponential(1) },
      timing,
    );
  } catch (e) {
    // an error of TF.js's own (an assertion on an op's arguments, say): a skip row, not the end of the table
    return [skipRow(c, { impl, batch }, `TF.js failed: ${(e as Error).message}`)];
  } finally {
    net.dispose();
  }
}

/**
 * Zeroskip's WebGPU sessions on one pruned network, the auto and the dense plan timed in turns, then the
 * peers on the same graph and input.
 */
async function networkPeers(
  gpu: Gpu,
  peers: { tfjs: TfjsOnDevice; ort: Ort | { reason: string }; ortWeb: OrtWeb | { reason: string } },
  name: string,
  batch: number,
  seed: number,
  runs: MeasureOptions,
): Promise<BenchResult[]> {
  const c = `${name} batch ${batch}`;
  const graph = pruned(name, seed, batch);
  const input = seededInput(graph, seed + 1);
  const feeds = { [graph.inputs[0]!.name]: input };
  let output: Float32Array = new Float32Array();
  let timings: Timing[];
  let gpuMs: number;
  // one after the other inside the try, so that a session whose sibling fails to build is destroyed
  const sessions: WebGpuSession[] = [];
  try {
    for (const plan of ['auto', 'dense'] as const)
      sessions.push(await WebGpuSession.create(graph, { gpu, plan }));
    const [auto, dense] = sessions as [WebGpuSession, WebGpuSession];
    timings = await measureInterleaved(
      [
        async () => {
          output = (await auto.run(feeds))[graph.outputs[0]!]!.data as Float32Array;
        },
        () => dense.run(feeds),
      ],
      runs,
    );
    gpuMs = (await profileSession(gpu, auto, feeds, 3)).gpuMs;
  } finally {
    for (const session of sessions) session.destroy();
  }
  const own: Own = { c, batch, graph, input, output, timing: timings[0]!, dense: timings[1]! };
  return [
    timeRow(
      c,
      { impl: 'zeroskip-webgpu auto plan', batch, 'gpu ms': gpuMs.toFixed(3), seed },
      { ...own.timing, clock: 'wall' },
    ),
    timeRow(c, { impl: 'zeroskip-webgpu dense plan', batch, seed }, { ...own.dense, clock: 'wall' }),
    // TF.js first, like Zeroskip before it, before ONNX Runtime Web's process compiles wasm beside it
    ...(await tfjsNetworkRows(peers.tfjs, own, runs)),
    ...(await ortCpuRows(peers.ort, own, runs)),
    ...(await ortWebRows(peers.ortWeb, own, runs)),
  ];
}

export const peersTable: BenchTable = {
  id: 'peers',
  title:
    'Peers in the same run: TF.js WebGPU on the same device (conv2d per layer, and whole networks); ONNX Runtime (CPU) and ONNX Runtime Web (WebGPU) on whole networks',
  reference:
    "TF.js's tfjs-backend-webgpu built on Zeroskip's own GPUDevice, NHWC input and HWIO filters laid out beforehand, GPU time from TF.js's timestamp queries; TF.js has no grouped convolution, so grouped layers (AlexNet conv2, conv4, conv5) run one conv2d per group. Beside it Zeroskip's dense implicit GEMM and direct sparse at the layer's SkimCaffe sparsity (else 0.9), weights seeded Gaussian. Whole networks: table 2's pruned networks exported to ONNX and run by onnxruntime-node's CPU provider (all graph optimizations), by onnxruntime-web's native WebGPU EP (a child process with its own Dawn device on the same adapter, limits and features as Zeroskip's; one thread of wasm; both convolution layouts, the faster one that agrees reported, the other beside it), and by TF.js on the same device as TF.js ops translated from the graph once (NHWC activations; HWIO filters in fused conv2d with bias and activation, one per group for grouped layers, depthwise where a group has one channel; Gemm as fused matMul on weights laid out [K, N]; NCHW again before Flatten; a node TF.js cannot run as ONNX defines it gives a skip row naming it), against Zeroskip's WebGPU sessions with the auto plan and with the dense plan (timed in turns, each peer's time over both); wall time of one run, input to output on the host. Outputs are checked to agree before anything is timed.",
  async run(ctx: BenchContext): Promise<BenchResult[]> {
    const full = ctx.suite === 'full';
    const gpu = await ctx.gpu();
    const layers = full ? PAPER_LAYERS : QUICK_LAYERS;
    const names = benchNetworks(ctx);
    const batches = ctx.batches ?? (full ? [1, 32] : [1]);
    const runs = full ? ([3, 15] as const) : ([1, 3] as const);
    const total = (layers.length + names.length) * batches.length;
    let step = 0;
    const results: BenchResult[] = [];
    const tfjs = await tfjsOnDevice(gpu);
    try {
      for (const l of layers)
        for (const batch of batches) {
          ctx.progress(step++, total, `TF.js ${l.network} ${l.name} batch ${batch}`);
          results.push(...(await convPeers(gpu, tfjs, l, batch, ctx.seed, runs)));
        }
      const ort = await loadOrt();
      const ortWeb = await OrtWeb.start();
      try {
        for (const name of names)
          for (const batch of batches) {
            ctx.progress(step++, total, `TF.js and ONNX Runtime ${name} batch ${batch}`);
            results.push(
              ...(await networkPeers(gpu, { tfjs, ort, ortWeb }, name, batch, ctx.seed, {
                warmup: runs[0],
                iterations: runs[1],
                gpu,
              })),
            );
          }
      } finally {
        if (!('reason' in ortWeb)) await ortWeb.close();
      }
    } finally {
      tfjs.dispose();
    }
    ctx.progress(total, total, 'done');
    return results;
  },
};
