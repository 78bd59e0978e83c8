import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { filled, inputOf } from './fill.mjs';
const req = createRequire('/work/main/packages/runtime/package.json');
const ort = req('onnxruntime-node');
mkdirSync('pack/skel', { recursive: true }); mkdirSync('pack/want', { recursive: true });
const list = [];
for (const dir of ['/tmp/zoo/skel', '/tmp/zoo2/skel']) {
  for (const m of JSON.parse(readFileSync(`${dir}/manifest.json`, 'utf8')).models) {
    if (!m.ok || m.quantized || m.id.includes('-train-')) continue;
    const skel = readFileSync(`${dir}/${m.id}.onnx`);
    copyFileSync(`${dir}/${m.id}.onnx`, `pack/skel/${m.id}.onnx`);
    const shape = [m.dynamic ? 2 : 1, 3, m.size, m.size];
    for (const prune of [0, 0.9]) {
      const s = await ort.InferenceSession.create(filled(skel, prune), { logSeverityLevel: 3 });
      const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', inputOf(shape), shape) });
      await s.release();
      const outs = Object.entries(out).map(([name, t]) => { const f = `${m.id}-${prune}-${list.length}-${name.replace(/[^A-Za-z0-9]/g, '_')}.bin`; const stride = Math.ceil(t.data.length / 16384); const sample = t.data.filter((_, i) => i % stride === 0); const scale = t.data.reduce((a, v) => Math.max(a, Math.abs(v)), 0); writeFileSync(`pack/want/${f}`, Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength)); return { name, dims: t.dims, type: t.type, file: f, stride, scale }; });
      list.push({ id: m.id, prune, shape, outs });
    }
    process.stdout.write('.');
  }
}
writeFileSync('pack/list.json', JSON.stringify(list));
console.log(list.length);
