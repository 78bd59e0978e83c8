// Shared by prep (ONNX Runtime, here) and the GPU sweep (H100): identical seeded weights.
import onnxProto from 'onnx-proto';
const { onnx } = onnxProto;
function rng(seed) { let s = seed >>> 0; return () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s + 0.5) / 4294967296; }; }
const WEIGHT_INPUT = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);
/** Fills a stripped skeleton; `prune` zeroes that share of each conv weight's smallest magnitudes. */
export function filled(bytes, prune = 0) {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph;
  const weights = new Set(g.node.filter((n) => WEIGHT_INPUT.has(n.opType)).map((n) => n.input[1]));
  const convW = new Set(g.node.filter((n) => n.opType === 'Conv').map((n) => n.input[1]));
  const r = rng(7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const fill = (t) => {
    if (!t.docString || t.dataType !== 1) return;
    const dims = t.dims.map(Number);
    const st = JSON.parse(t.docString);
    const n = dims.reduce((a, d) => a * d, 1);
    const fanIn = weights.has(t.name) ? n / (dims[0] || 1) : 0;
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) a[i] = fanIn > 0 ? normal() * Math.sqrt(2 / fanIn) : Math.min(st.max, Math.max(st.min, st.mean + st.std * normal()));
    if (prune > 0 && convW.has(t.name) && fanIn >= 16) {
      const sorted = Float32Array.from(a, Math.abs).sort();
      const cut = sorted[Math.floor(prune * n)];
      for (let i = 0; i < n; i++) if (Math.abs(a[i]) < cut) a[i] = 0;
    }
    t.rawData = new Uint8Array(a.buffer);
    t.docString = '';
  };
  for (const t of g.initializer) fill(t);
  for (const n of g.node) for (const at of n.attribute) if (at.t) fill(at.t);
  return onnx.ModelProto.encode(model).finish();
}
export function inputOf(shape) { const r = rng(99); return Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => r() * 2 - 1); }
