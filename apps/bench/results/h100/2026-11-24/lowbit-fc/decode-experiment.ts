// The low-bit FC's weight decode, two ways, timed side by side on one device (call 3, at e3870a6 plus
// the 'bits' decode): 'bits' builds ±1.0 (and ternary's 0) from the planes with shifts and masks (the
// kernel's text), 'select' tests each bit and selects (e3870a6's text). Binary and ternary, batches 1, 2
// and 4, 8 and 16 output channels per workgroup, each pair timed twice in turns. Bundled with esbuild
// from apps/bench/src/exp/ (LOCAL=1 runs one small layer, to check the rewrite off the GPU).
import { encodeLowBitFc, type Gpu, lowBitRows, requestDevice } from '@zeroskip/gpu';
import { timeGpu } from '../measure.js';
import { gaussian } from '../rng.js';

const layers = process.env.LOCAL
  ? ([['small', 200, 24]] as const)
  : ([
      ['VGG-16 fc6', 25088, 4096],
      ['AlexNet fc6', 9216, 4096],
      ['VGG-16 fc7', 4096, 4096],
    ] as const);

type Tx = (w: string) => string;
const variants: Record<string, Tx | undefined> = {
  bits: undefined,
  select: (w) =>
    w
      .replace(
        /bitcast<f32>\(\(\(\(s(\d+) << (\d+)u\) & 0x80000000u\) \| 0x3f800000u\) & u32\(i32\(z\d+ << \d+u\) >> 31u\)\)/g,
        (_, r, n) => {
          const m = `${(2 ** (31 - Number(n))) >>> 0}u`;
          return `select(0.0, select(1.0, -1.0, (s${r} & ${m}) != 0u), (z${r} & ${m}) != 0u)`;
        },
      )
      .replace(/bitcast<f32>\(\(\(s(\d+) << (\d+)u\) & 0x80000000u\) \| 0x3f800000u\)/g, (_, r, n) => {
        const m = `${(2 ** (31 - Number(n))) >>> 0}u`;
        return `select(1.0, -1.0, (s${r} & ${m}) != 0u)`;
      }),
};

const out: unknown[] = [];

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const inst = mod.create(['disable-dawn-features=timestamp_quantization']);
  const gpu: Gpu = await requestDevice({ gpu: inst });
  let tag = 'bits';
  const orig = gpu.pipeline.bind(gpu);
  // biome-ignore lint/suspicious/noExplicitAny: experiment hook
  const programs = new Map<string, any>();
  // biome-ignore lint/suspicious/noExplicitAny: experiment hook
  (gpu as any).pipeline = (prog: any, spec: any) => {
    const tx = variants[tag];
    if (prog.name !== 'fc-lowbit' || !tx) return orig(prog, spec);
    if (!programs.has(tag))
      programs.set(tag, {
        name: `${prog.name}-${tag}`,
        wgsl: (s: unknown) => {
          const text = tx(prog.wgsl(s));
          if (text.includes('0x3f800000u')) throw new Error('variant left the bit decode in place');
          return text;
        },
      });
    return orig(programs.get(tag), spec);
  };
  for (const [lname, k, outputs] of layers) {
    const w = gaussian(k * outputs, 42);
    const mean = w.reduce((s, v) => s + Math.abs(v), 0) / w.length;
    for (const weights of ['binary', 'ternary'] as const) {
      const g = w.map((v) => (weights === 'ternary' && Math.abs(v) < 0.7 * mean ? 0 : Math.sign(v) * mean || mean));
      const bits = lowBitRows(g, outputs)!;
      const planes = gpu.tensor([bits.planes.length], bits.planes);
      const alpha = gpu.tensor([outputs], bits.alpha);
      const bias = gpu.tensor([outputs], new Float32Array(outputs));
      for (const batch of [1, 2, 4]) {
        const x = gpu.tensor([batch, k], gaussian(batch * k, 43));
        for (const rows of [8, 16]) {
          let ref: Float32Array | undefined;
          for (const rep of [0, 1])
            for (const vname of ['bits', 'select']) {
              tag = vname;
              const run = (r: Parameters<Parameters<Gpu['submit']>[0]>[0]) => {
                const y = gpu.empty([batch, outputs]);
                encodeLowBitFc(r, { x, planes, alpha, bias, y }, { batch, k, outputs }, weights, 'none', rows);
                return y;
              };
              let yt: ReturnType<typeof run> | undefined;
              await gpu.submit((r) => {
                yt = run(r);
              });
              const vals = await gpu.read(yt!);
              gpu.release(yt!);
              let diff = 0;
              if (!ref) ref = vals;
              else for (let i = 0; i < vals.length; i++) diff = Math.max(diff, Math.abs(vals[i]! - ref[i]!));
              const t = await timeGpu(gpu, (r) => gpu.release(run(r)), 3, 15);
              const row = { layer: lname, weights, batch, rows, variant: vname, rep, ms: t.median, p10: t.p10, p90: t.p90, maxdiff: diff };
              console.log(JSON.stringify(row));
              out.push(row);
            }
        }
        gpu.release(x);
      }
      for (const t of [planes, alpha, bias]) gpu.release(t);
    }
  }
  gpu.destroy();
  const fs = await import('node:fs');
  fs.writeFileSync(`${process.env.OUT ?? '/tmp'}/r/exp.json`, JSON.stringify(out, null, 1));
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
