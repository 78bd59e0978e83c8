import { bytes, h, messageOf, setState } from './dom.js';
import { type Model, modelFromFile, modelFromZoo, ZOO_NAMES, zooDescription } from './model-source.js';

/** Picks a zoo model or reads a dropped or chosen .onnx / .zsk file. */
export function modelPanel(onModel: (m: Model) => void): HTMLElement {
  const zoo = h(
    'select',
    { id: 'zoo' },
    ...ZOO_NAMES.map((n) => h('option', { value: n }, `${n} — ${zooDescription(n)}`)),
  );
  zoo.value = 'lenet-5';
  const size = h('input', { id: 'zoo-size', type: 'number', min: 16, max: 512, placeholder: 'own', size: 5 });
  const load = h('button', { id: 'zoo-load' }, 'Load');
  const file = h('input', { id: 'file', type: 'file', accept: '.onnx,.zsk' });
  const info = h('div', { class: 'info' });
  const panel = h(
    'section',
    { id: 'model', class: 'panel', 'data-state': 'idle' },
    h('h2', {}, '1 · Model'),
    h('div', { class: 'row' }, h('label', {}, 'Zoo ', zoo), h('label', {}, 'input size ', size), load),
    h('div', { class: 'drop' }, 'Drop an .onnx or .zsk file here, or choose one: ', file),
    h('p', { class: 'status' }),
    info,
  );

  const use = (what: string, make: () => Model) => {
    setState(panel, 'busy', `loading ${what}…`);
    // let the status line paint before the synchronous import
    setTimeout(() => {
      try {
        const m = make();
        const ops = new Map<string, number>();
        for (const n of m.graph.nodes) ops.set(n.op, (ops.get(n.op) ?? 0) + 1);
        info.replaceChildren(
          h(
            'p',
            {},
            h('b', {}, m.name),
            ` · ${m.params.toLocaleString('en')} parameters (${bytes(4 * m.params)} as f32)`,
          ),
          h('p', {}, 'inputs: ', m.graph.inputs.map((i) => `${i.name} [${i.shape.join('×')}]`).join(', ')),
          h('p', {}, `${m.graph.nodes.length} nodes: `, [...ops].map(([op, n]) => `${op} ×${n}`).join(', ')),
        );
        setState(panel, 'done', `loaded ${m.name}`);
        onModel(m);
      } catch (e) {
        setState(panel, 'error', messageOf(e));
      }
    }, 0);
  };
  const readFile = async (f: File) => {
    const data = new Uint8Array(await f.arrayBuffer());
    use(f.name, () => modelFromFile(f.name, data));
  };

  load.onclick = () => use(zoo.value, () => modelFromZoo(zoo.value, size.valueAsNumber || undefined));
  file.onchange = () => {
    const f = file.files?.[0];
    if (f) void readFile(f);
  };
  panel.ondragover = (e) => {
    e.preventDefault();
    panel.classList.add('dragging');
  };
  panel.ondragleave = () => panel.classList.remove('dragging');
  panel.ondrop = (e) => {
    e.preventDefault();
    panel.classList.remove('dragging');
    const f = e.dataTransfer?.files[0];
    if (f) void readFile(f);
  };
  return panel;
}
