import { tf } from './engine.js';
import { TrainError } from './errors.js';

export type BackendName = 'cpu' | 'webgpu';

function unavailable(name: BackendName): never {
  throw new TrainError(
    'backend-unavailable',
    `the TF.js '${name}' backend could not start; use 'cpu', or check that a WebGPU adapter is present.`,
  );
}

/**
 * Selects the TF.js backend every model of this package then runs on. 'webgpu' loads its backend
 * only now, so CPU users never pay for it; in Node (no `navigator.gpu`) it first installs Dawn's
 * WebGPU from the `webgpu` package, which the backend looks for when it is imported.
 */
export async function useBackend(name: BackendName): Promise<void> {
  if (name === 'webgpu') {
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (!g.navigator?.gpu) {
      const { create, globals } = await import('webgpu');
      Object.assign(globalThis, globals);
      // Node 21+ defines navigator as a getter: define, not assign.
      Object.defineProperty(globalThis, 'navigator', {
        value: { ...g.navigator, gpu: create([]) },
        configurable: true,
        writable: true,
      });
    }
    // without an adapter TF.js would log its own failure and a stack before setBackend returns false
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!(await gpu?.requestAdapter().catch(() => null))) unavailable(name);
    await import('@tensorflow/tfjs-backend-webgpu');
  }
  if (!(await tf.setBackend(name).catch(() => false))) unavailable(name);
  await tf.ready();
}
