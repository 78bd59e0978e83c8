// Runs every exported architecture on the WebGPU executor (plans auto and dense; auto again with 90% of
// each conv's weights pruned) and compares with ONNX Runtime's outputs computed from the same weights.
import { readFileSync } from 'node:fs';
import { requestDevice } from '@zeroskip/gpu';
import { importOnnx, optimize, tensor, WebGpuSession } from '@zeroskip/runtime';
import { filled, inputOf } from './fill.mjs';
const dir = process.env.PACK ?? 'pack';
const list = JSON.parse(readFileSync(`${dir}/list.json`, 'utf8'));
const only = process.env.ONLY?.split(',');
const gpu = await requestDevice();
console.error('adapter', gpu.adapterInfo?.device ?? '', 'software', gpu.software);
for (const e of list) {
  if (only && !only.includes(e.id)) continue;
  const skel = readFileSync(`${dir}/skel/${e.id}.onnx`);
  const x = inputOf(e.shape);
  const plans = e.prune || process.env.AUTO_ONLY ? ["auto"] : ["auto", "dense"];
  for (const plan of plans) {
    const rec = { id: e.id, prune: e.prune, plan };
    let s;
    try {
      const g = importOnnx(filled(skel, e.prune));
      const t0 = performance.now();
      s = await WebGpuSession.create(optimize(g), { gpu, plan });
      const got = await s.run({ [g.inputs[0].name]: tensor('float32', e.shape, x) });
      rec.firstMs = +(performance.now() - t0).toFixed(0);
      const kernels = {};
      for (const p of s.plan) kernels[p.kernel] = (kernels[p.kernel] ?? 0) + 1;
      rec.kernels = kernels;
      rec.cpuOps = [...new Set(s.plan.filter((p) => p.kernel === 'cpu').map((p) => p.op))];
      rec.outs = e.outs.map((o) => {
        const b = readFileSync(`${dir}/want/${o.file}`);
        const want = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
        const gt = got[o.name];
        if (!gt) return { name: o.name, missing: true };
        if (gt.shape.join() !== o.dims.join()) return { name: o.name, shape: gt.shape, want: o.dims };
        let d = 0, nan = 0;
        const sc = o.scale;
        for (let i = 0; i < want.length; i++) { const v = Math.abs(gt.data[i * o.stride] - want[i]); if (Number.isNaN(v)) nan++; else d = Math.max(d, v); }
        for (const v of gt.data) if (Number.isNaN(v)) nan++;
        return { name: o.name, rel: d / (sc || 1), scale: sc, nan };
      });
      rec.ok = rec.outs.every((o) => o.rel !== undefined && o.rel <= 1e-3 && !o.nan);
    } catch (err) {
      rec.error = `${err?.code ?? ''} ${String(err?.message ?? err).slice(0, 400)}`;
    } finally {
      s?.destroy();
    }
    console.log(JSON.stringify(rec));
  }
}
gpu.destroy();
