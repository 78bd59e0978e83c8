import { Conv2dLayer, type ConvAlgorithm, requestDevice, type SparseStaging } from '@zeroskip/gpu';
import { pruneByRate } from '@zeroskip/quant';
import { timeGpu } from './measure.js';
import { gaussian } from './rng.js';

const layers = [
  ['conv1_2', 64, 224, 64],
  ['conv4_2', 512, 28, 512],
  ['res3a', 128, 28, 128],
  ['conv5_2', 512, 14, 512],
] as const;

async function main() {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const out: unknown[] = [];
  const keep: GPU[] = [];
  for (const flags of [
    ['disable-dawn-features=timestamp_quantization'],
    ['disable-dawn-features=timestamp_quantization', 'enable-dawn-features=disable_robustness'],
  ]) {
    const inst = mod.create(flags);
    keep.push(inst);
    const gpu = await requestDevice({ gpu: inst });
    console.log(flags.join(' '), 'limits', gpu.limits.maxComputeWorkgroupStorageSize);
    for (const [lname, c, hw, o] of layers) {
      const shape = [o, c, 3, 3] as const;
      const weights = pruneByRate(gaussian(o * c * 9, 42), 0.9).weights;
      const x = gpu.tensor([32, c, hw, hw], gaussian(32 * c * hw * hw, 43));
      const variants: [string, ConvAlgorithm, SparseStaging | undefined][] = [
        ['tiled', 'sparse-tiled', undefined],
        ['direct', 'direct-sparse', undefined],
        ['staged', 'sparse-staged', undefined],
        ['staged-r1', 'sparse-staged', undefined],
      ];
      for (const [vname, algorithm] of variants) {
        const layer = new Conv2dLayer(gpu, { weights, shape, pads: [1, 1, 1, 1], algorithm });
        const staging = vname === 'staged-r1' ? { ...layer.stagingFor(layer.geometry(x.shape)), rows: 1 } : undefined;
        const l2 = staging ? new Conv2dLayer(gpu, { weights, shape, pads: [1, 1, 1, 1], algorithm, staging }) : layer;
        const t = await timeGpu(gpu, (r) => gpu.release(l2.encode(r, x)), 3, 9);
        const row = { flags: flags.length, layer: lname, variant: vname, ms: t.median };
        console.log(JSON.stringify(row));
        out.push(row);
        layer.destroy();
        if (l2 !== layer) l2.destroy();
      }
      gpu.release(x);
    }
    gpu.destroy();
  }
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
