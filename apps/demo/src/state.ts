import type { Graph, Tensor } from '@zeroskip/runtime';
import type { Backend } from './backend.js';
import type { CompressResult } from './compress.js';
import type { Classification } from './digits.js';
import type { Model } from './model-source.js';
import type { PlanRun } from './run.js';

/** Everything the page has computed; also `window.zeroskipDemo`, so that tests read what the UI shows. */
export interface DemoState {
  backend?: Backend;
  model?: Model;
  compressed?: (CompressResult & { readonly graph: Graph }) | undefined;
  /** Inputs of the latest run, its results per plan, and the CPU executor's outputs for them. */
  inputs?: Record<string, Tensor>;
  runs: PlanRun[];
  cpu?: Record<string, Tensor> | undefined;
  digits: { input?: Tensor; results: Classification[] };
}

declare global {
  interface Window {
    zeroskipDemo: DemoState;
  }
}
