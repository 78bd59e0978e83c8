import { runCpu } from '@zeroskip/runtime';
import { describeBackend } from './backend.js';
import { barChart, type Series } from './chart.js';
import { h, messageOf, ms, setState, table } from './dom.js';
import { maxDiff, sampleInputs } from './inputs.js';
import { PLANS, type PlanName, type PlanRun, runOnCpu, runPlans } from './run.js';
import type { DemoState } from './state.js';

const COLORS: Record<PlanName, string> = { dense: '#4e79a7', auto: '#f28e2b', tuned: '#59a14f' };

function timings(runs: readonly PlanRun[], state: DemoState, steadyRuns: number): HTMLTableElement {
  return table(
    [
      'plan',
      'first run (compile + upload)',
      `steady state (median of ${steadyRuns})`,
      'GPU time (profiled)',
      'clock',
      'max |Δ| vs CPU executor',
    ],
    runs.map((r) => [
      r.plan,
      ms(r.firstMs),
      ms(r.steadyMs),
      r.profile ? ms(r.profile.gpuMs) : '—',
      r.profile?.clock ?? 'host',
      state.cpu ? maxDiff(r.outputs, state.cpu).toExponential(2) : '—',
    ]),
  );
}

function layerChart(runs: readonly PlanRun[]): SVGSVGElement {
  const profiled = runs.filter((r) => r.profile);
  const names = [...new Set(profiled.flatMap((r) => r.profile!.nodes.map((n) => n.node)))];
  const series: Series[] = profiled.map((r) => ({ name: r.plan, color: COLORS[r.plan as PlanName] }));
  // one bar per plan, its time in that plan's series slot
  const rows = names.map((node) => ({
    label: node,
    bars: profiled.map((r, i) => {
      const t = r
        .profile!.nodes.filter((n) => n.node === node)
        .reduce((a, n) => a + (Number.isFinite(n.ms) ? n.ms : 0), 0);
      return series.map((_, j) => (j === i ? t : 0));
    }),
  }));
  return barChart(rows, series, ms);
}

function planTable(runs: readonly PlanRun[]): HTMLTableElement {
  const gpuRuns = runs.filter((r) => r.entries.length > 0);
  const first = gpuRuns[0]!;
  return table(
    ['node', 'op', ...gpuRuns.map((r) => `${r.plan} kernel`), 'weight sparsity', 'tuned candidates (ms)'],
    first.entries.map((e, k) => {
      const tuned = gpuRuns.find((r) => r.plan === 'tuned')?.entries[k]?.tuned;
      return [
        e.node,
        e.op,
        ...gpuRuns.map((r) => r.entries[k]?.kernel ?? '—'),
        e.sparsity === undefined ? '' : `${(100 * e.sparsity).toFixed(0)}%`,
        tuned === undefined
          ? ''
          : tuned === 'cache'
            ? 'cache'
            : Object.entries(tuned)
                .map(([kernel, t]) => `${kernel} ${t.toFixed(2)}`)
                .join(', '),
      ];
    }),
  );
}

/** Runs the (compressed) model under each plan on WebGPU, or on the CPU executor without it. */
export function runPanel(state: DemoState): {
  panel: HTMLElement;
  reset: () => void;
  showBackend: (note?: string) => void;
} {
  const checks = PLANS.map((p) => h('input', { type: 'checkbox', id: `plan-${p}`, value: p, checked: true }));
  const steady = h('input', { id: 'steady-runs', type: 'number', min: 1, max: 50, value: 5, size: 3 });
  const iterations = h('input', {
    id: 'tune-iterations',
    type: 'number',
    min: 1,
    max: 20,
    value: 3,
    size: 3,
  });
  const go = h('button', { id: 'run-button' }, 'Run');
  const notice = h('p', { class: 'notice', id: 'backend' });
  const out = h('div', { class: 'results' });
  const panel = h(
    'section',
    { id: 'run', class: 'panel', 'data-state': 'idle' },
    h('h2', {}, '3 · Run'),
    notice,
    h(
      'div',
      { class: 'row' },
      ...PLANS.map((p, i) => h('label', {}, checks[i]!, ` ${p}`)),
      h('label', {}, 'steady runs ', steady),
      h('label', {}, 'tune iterations ', iterations),
      go,
    ),
    h('p', { class: 'status' }),
    out,
  );

  go.onclick = async () => {
    const graph = state.compressed?.graph ?? state.model?.graph;
    const backend = state.backend;
    if (!graph || !backend) return setState(panel, 'error', 'load a model first (panel 1).');
    const what = `${state.model?.name}${state.compressed ? ' (compressed .zsk)' : ''}`;
    const plans = PLANS.filter((_, i) => checks[i]!.checked);
    if (backend.kind === 'webgpu' && plans.length === 0)
      return setState(panel, 'error', 'tick at least one plan to run.');
    const o = {
      steadyRuns: steady.valueAsNumber || 1,
      tuneIterations: iterations.valueAsNumber || 1,
      onStatus: (line: string) => setState(panel, 'busy', `${what}: ${line}`),
    };
    go.disabled = true;
    out.replaceChildren();
    try {
      const inputs = sampleInputs(graph);
      state.inputs = inputs;
      state.runs = [];
      state.cpu = undefined;
      o.onStatus('the CPU executor, for reference');
      state.cpu = runCpu(graph, inputs);
      state.runs =
        backend.kind === 'webgpu'
          ? await runPlans(graph, backend.gpu, inputs, plans, o)
          : [await runOnCpu(graph, inputs, o)];
      out.replaceChildren(
        h('p', {}, `${what}, seeded inputs in [0, 1)`),
        timings(state.runs, state, o.steadyRuns),
        backend.kind === 'webgpu' && plans.length > 1
          ? h(
              'p',
              { class: 'note' },
              'Plans share one device: a later plan reuses the pipelines an earlier one compiled.',
            )
          : '',
        ...(backend.kind === 'webgpu'
          ? [
              h('h3', {}, 'GPU time per layer (profiled run)'),
              layerChart(state.runs),
              h('h3', {}, 'Plan'),
              planTable(state.runs),
            ]
          : []),
      );
      setState(panel, 'done', `ran ${what}: ${state.runs.map((r) => r.plan).join(', ')}`);
    } catch (e) {
      setState(panel, 'error', messageOf(e));
    } finally {
      go.disabled = false;
    }
  };
  return {
    panel,
    reset: () => {
      out.replaceChildren();
      setState(panel, 'idle');
    },
    showBackend: (note?: string) => {
      if (state.backend)
        notice.textContent = [note, describeBackend(state.backend)].filter(Boolean).join(' ');
      notice.classList.toggle('warn', state.backend?.kind === 'cpu' || note !== undefined);
    },
  };
}
