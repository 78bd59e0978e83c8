import './style.css';
import { openBackend } from './backend.js';
import { h } from './dom.js';
import { compressPanel } from './panel-compress.js';
import { digitsPanel } from './panel-digits.js';
import { modelPanel } from './panel-model.js';
import { runPanel } from './panel-run.js';
import type { DemoState } from './state.js';

const state: DemoState = { runs: [], digits: { results: [] } };
window.zeroskipDemo = state;

const run = runPanel(state);
const compress = compressPanel(
  () => state.model,
  (c) => {
    state.compressed = c;
    run.reset();
  },
);
const model = modelPanel((m) => {
  state.model = m;
  state.compressed = undefined;
  compress.reset();
  run.reset();
});
const digits = digitsPanel(state);

document
  .querySelector('#app')!
  .replaceChildren(
    h(
      'header',
      {},
      h('h1', {}, 'Zeroskip'),
      h(
        'p',
        {},
        'Compress a CNN the Deep Compression way, run it on WebGPU, and classify digits with the shipped MNIST models. Everything runs in this page.',
      ),
    ),
    model,
    compress.panel,
    run.panel,
    digits.panel,
  );

/** Opens the backend, and a new one whenever the browser loses the device (a GPU reset, a driver update, …). */
async function useBackend(lost?: string): Promise<void> {
  const backend = await openBackend();
  state.backend = backend;
  run.showBackend(
    lost === undefined ? undefined : `The WebGPU device was lost (${lost}); a new one was opened.`,
  );
  if (backend.kind === 'webgpu')
    void backend.gpu.device.lost.then((info) => {
      if (info.reason !== 'destroyed') void useBackend(info.message || 'no reason given');
    });
  await digits.start();
}

await useBackend();
document.body.dataset.ready = 'true';
