import type { Graph } from '@zeroskip/runtime';
import { decodeZsk } from '@zeroskip/runtime';
import type { LayerBreakdown } from './breakdown.js';
import { barChart, type Series } from './chart.js';
import { type CompressResult, compressInWorker, type WorkerOptions } from './compress.js';
import { bytes, h, messageOf, setState, table } from './dom.js';
import type { Model } from './model-source.js';

const BITS = ['off', 2, 3, 4, 5, 6, 7, 8] as const;

/** The chart's stacks, in drawing order, and the breakdown field each shows (in bits). */
const STACK: readonly (Series & { readonly field: keyof LayerBreakdown })[] = [
  { name: 'index bits', color: '#4e79a7', field: 'indexBits' },
  { name: 'weight bits', color: '#f28e2b', field: 'weightBits' },
  { name: 'codebook', color: '#59a14f', field: 'codebookBits' },
  { name: 'headers, tables, scales', color: '#9c9c9c', field: 'otherBits' },
  { name: 'Huffman saving', color: '#e15759', field: 'huffmanSavingBits', ghost: true },
];

function bitsSelect(id: string, value: number): HTMLSelectElement {
  const el = h('select', { id }, ...BITS.map((b) => h('option', { value: String(b) }, String(b))));
  el.value = String(value);
  return el;
}

const clusterBits = (el: HTMLSelectElement) => (el.value === 'off' ? undefined : Number(el.value));

function results(name: string, r: CompressResult): HTMLElement {
  const bar = (l: LayerBreakdown) => STACK.map((sr) => (l[sr.field] as number) / 8);
  const totals = STACK.map((_, i) => r.layers.reduce((n, l) => n + bar(l)[i]!, 0));
  const url = URL.createObjectURL(
    new Blob([r.zsk as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
  );
  const file = `${name.replace(/\.(onnx|zsk)$/i, '')}.compressed.zsk`;
  return h(
    'div',
    {},
    h(
      'p',
      { class: 'summary' },
      `${r.total.params.toLocaleString('en')} weights in ${r.layers.length} layers; all constants ${bytes(r.total.denseBytes)} as f32 → ${bytes(r.total.bytes)} stored (${r.total.ratio.toFixed(1)}×). `,
      h('a', { id: 'download', href: url, download: file }, `Download ${file} (${bytes(r.zsk.length)})`),
    ),
    barChart(
      [...r.layers.map((l) => ({ label: l.layer, bars: [bar(l)] })), { label: 'total', bars: [totals] }],
      STACK,
      bytes,
    ),
    table(
      ['layer', 'kind', 'encoding', 'weights', 'kept', 'weight bits', 'index bits', 'stored', 'ratio'],
      r.layers.map((l) => {
        const kept = Math.max(1, Math.round(l.kept * l.params));
        return [
          l.layer,
          l.kind,
          l.encoding,
          l.params.toLocaleString('en'),
          `${(100 * l.kept).toFixed(1)}%`,
          (l.weightBits / kept).toFixed(2),
          (l.indexBits / kept).toFixed(2),
          bytes(l.bytes),
          `${l.ratio.toFixed(1)}×`,
        ];
      }),
    ),
  );
}

/** Compression options, the worker's progress, the size breakdown and the .zsk download. */
export function compressPanel(
  model: () => Model | undefined,
  onCompressed: (c: CompressResult & { graph: Graph }) => void,
): { panel: HTMLElement; reset: () => void } {
  const prune = h('input', { id: 'prune', type: 'range', min: 0, max: 0.95, step: 0.05, value: 0.5 });
  const pruneOut = h('output', {}, '50%');
  prune.oninput = () => {
    pruneOut.textContent = `${Math.round(100 * prune.valueAsNumber)}%`;
  };
  const conv = bitsSelect('cluster-conv', 8);
  const fc = bitsSelect('cluster-fc', 5);
  const huffman = h('input', { id: 'huffman', type: 'checkbox', checked: true });
  const go = h('button', { id: 'compress-button' }, 'Compress');
  const progress = h('progress', { id: 'compress-progress', value: 0, max: 1 });
  const out = h('div', { class: 'results' });
  const panel = h(
    'section',
    { id: 'compress', class: 'panel', 'data-state': 'idle' },
    h('h2', {}, '2 · Compress'),
    h(
      'div',
      { class: 'row' },
      h('label', {}, 'prune ', prune, ' ', pruneOut),
      h('label', {}, 'cluster bits: conv ', conv),
      h('label', {}, 'fc ', fc),
      h('label', {}, huffman, ' Huffman'),
      go,
      progress,
    ),
    h('p', { class: 'status' }),
    out,
  );

  go.onclick = async () => {
    const m = model();
    if (!m) return setState(panel, 'error', 'load a model first (panel 1).');
    const c = [clusterBits(conv), clusterBits(fc)];
    const options: WorkerOptions = {
      prune: prune.valueAsNumber,
      ...(c[0] !== undefined || c[1] !== undefined
        ? {
            cluster: {
              ...(c[0] !== undefined ? { conv: c[0] } : {}),
              ...(c[1] !== undefined ? { fc: c[1] } : {}),
            },
          }
        : {}),
      huffman: huffman.checked,
    };
    go.disabled = true;
    progress.value = 0;
    out.replaceChildren();
    setState(panel, 'busy', 'compressing…');
    try {
      const r = await compressInWorker(m.graph, options, (done, total, layer) => {
        progress.value = done / total;
        setState(panel, 'busy', `compressed ${done}/${total}: ${layer}`);
      });
      out.replaceChildren(results(m.name, r));
      onCompressed({ ...r, graph: decodeZsk(r.zsk).graph });
      setState(panel, 'done', `compressed ${m.name}: ${r.layers.length} weight layers`);
    } catch (e) {
      setState(panel, 'error', messageOf(e));
    } finally {
      go.disabled = false;
    }
  };
  const reset = () => {
    out.replaceChildren();
    progress.value = 0;
    setState(panel, 'idle');
  };
  return { panel, reset };
}
