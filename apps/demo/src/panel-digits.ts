import { type Classification, classify, type DigitModel, loadDigitModels, toMnist } from './digits.js';
import { bytes, h, messageOf, ms, setState } from './dom.js';
import type { DemoState } from './state.js';

const SIZE = 280;
const STROKE = 22;

function scoreBars(c: Classification): HTMLElement {
  // softmax, so that models with different score scales read alike
  const top = Math.max(...c.scores);
  const e = Array.from(c.scores, (v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return h(
    'div',
    { class: 'scores' },
    ...e.map((v, d) =>
      h(
        'span',
        { class: d === c.digit ? 'best' : '', title: `${d}: ${(v / sum).toFixed(3)}` },
        h('i', { style: `height:${Math.round((40 * v) / sum)}px` }),
        String(d),
      ),
    ),
  );
}

/** A canvas to draw on, and the shipped MNIST models classifying it live, side by side. */
export function digitsPanel(state: DemoState): { panel: HTMLElement; start: () => Promise<void> } {
  const canvas = h('canvas', { id: 'pad', width: SIZE, height: SIZE });
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const clear = h('button', { id: 'clear' }, 'Clear');
  const preview = h('canvas', { class: 'preview', width: 28, height: 28 });
  const cards = h('div', { class: 'cards' });
  const panel = h(
    'section',
    { id: 'digits', class: 'panel', 'data-state': 'idle' },
    h('h2', {}, '4 · Digits'),
    h('p', { class: 'status' }),
    h(
      'div',
      { class: 'row top' },
      h('div', {}, canvas, h('div', { class: 'row' }, clear, 'model input:', preview)),
      cards,
    ),
  );
  let models: DigitModel[] = [];
  let busy = false;
  let again = false;

  const reset = () => {
    ctx.fillStyle = 'black';
    ctx.fillRect(0, 0, SIZE, SIZE);
    preview.getContext('2d')!.clearRect(0, 0, 28, 28);
  };
  const showPreview = (data: Float32Array) => {
    const img = new ImageData(28, 28);
    data.forEach((v, i) => {
      img.data.fill(Math.round(255 * v), 4 * i, 4 * i + 3);
      img.data[4 * i + 3] = 255;
    });
    preview.getContext('2d')!.putImageData(img, 0, 0);
  };
  const render = (results: readonly Classification[]) =>
    cards.replaceChildren(
      ...models.map((m, i) => {
        const r = results[i];
        return h(
          'div',
          { class: 'card', 'data-model': m.name },
          h('h4', {}, m.name),
          h('p', { class: 'desc' }, m.description),
          h('p', {}, `${bytes(m.bytes)} · ${r ? ms(r.ms) : '—'}`),
          h('p', { class: 'digit' }, r ? String(r.digit) : '?'),
          r ? scoreBars(r) : '',
        );
      }),
    );

  // one classification at a time; strokes during one ask for another when it ends
  const update = async () => {
    if (busy) {
      again = true;
      return;
    }
    const input = toMnist(canvas);
    if (!input || models.length === 0) return;
    busy = true;
    setState(panel, 'busy', 'classifying…');
    try {
      showPreview(input.data as Float32Array);
      const results = await classify(models, input);
      state.digits = { input, results };
      render(results);
      setState(
        panel,
        'done',
        `${models.length} models, on ${state.backend?.kind === 'webgpu' ? 'WebGPU' : 'the CPU executor'}`,
      );
    } catch (e) {
      setState(panel, 'error', messageOf(e));
    } finally {
      busy = false;
      if (again) {
        again = false;
        void update();
      }
    }
  };

  let last: [number, number] | undefined;
  const at = (e: PointerEvent): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * SIZE) / r.width, ((e.clientY - r.top) * SIZE) / r.height];
  };
  canvas.onpointerdown = (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = at(e);
  };
  canvas.onpointermove = (e) => {
    if (!last) return;
    const p = at(e);
    ctx.strokeStyle = 'white';
    ctx.lineWidth = STROKE;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...p);
    ctx.stroke();
    last = p;
    void update();
  };
  canvas.onpointerup = () => {
    last = undefined;
    void update();
  };
  clear.onclick = () => {
    reset();
    state.digits = { results: [] };
    render([]);
  };
  reset();

  const start = async () => {
    setState(panel, 'busy', 'loading the shipped models…');
    try {
      for (const m of models) m.runner.destroy();
      models = await loadDigitModels(state.backend!);
      render([]);
      setState(panel, 'idle', 'draw a digit');
    } catch (e) {
      setState(panel, 'error', messageOf(e));
    }
  };
  return { panel, start };
}
