import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeZsk,
  type Graph,
  optimize,
  runCpu,
  type Tensor,
  tensor,
  WEIGHT_LAYER_OPS,
  ZOO,
} from '@zeroskip/runtime';
import { loadPretrained, PRETRAINED } from '@zeroskip/train';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The page, built and served, in Debian's Chromium with WebGPU on SwiftShader (../shared/PLATFORM.md).
const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MODELS = fileURLToPath(new URL('../../../../shared/models/', import.meta.url));
const SHOTS = join(ROOT, 'screenshots');
/** Playwright waits: SwiftShader on two busy cores compiles and runs slowly; only a hang should hit this. */
const WAIT = 600_000;

type Plain = Record<string, { shape: number[]; data: number[] }>;

const fromPlain = (p: Plain): Record<string, Tensor> =>
  Object.fromEntries(
    Object.entries(p).map(([k, t]) => [k, tensor('float32', t.shape, Float32Array.from(t.data))]),
  );

/** Outputs agree within float32 rounding of differently ordered sums, scaled to the outputs' size. */
function expectClose(actual: Plain, expected: Record<string, Tensor>, what: string): void {
  expect(Object.keys(actual).sort(), what).toEqual(Object.keys(expected).sort());
  for (const [name, t] of Object.entries(expected)) {
    const got = actual[name]!;
    expect(got.shape, `${what}: ${name} shape`).toEqual([...t.shape]);
    const scale = Math.max(...Array.from(t.data, Math.abs));
    const worst = got.data.reduce((m, v, i) => Math.max(m, Math.abs(v - t.data[i]!)), 0);
    expect(worst, `${what}: ${name} max |Δ| (outputs up to ${scale})`).toBeLessThanOrEqual(
      1e-3 * scale + 1e-4,
    );
  }
}

let server: PreviewServer;
let browser: Browser;
let url: string;
let outDir: string;
const errors: string[] = [];
const foreign: string[] = [];

async function open(init?: () => void): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
  page.setDefaultTimeout(WAIT);
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    if (!r.url().startsWith(url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:'))
      foreign.push(r.url());
  });
  if (init) await page.addInitScript(init);
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]');
  return page;
}

const done = (page: Page, panel: string) =>
  page.waitForSelector(`#${panel}[data-state=done], #${panel}[data-state=error]`).then(async () => {
    const state = await page.getAttribute(`#${panel}`, 'data-state');
    const status = await page.textContent(`#${panel} .status`);
    expect(state, `${panel} panel: ${status}${errors.length ? `; console: ${errors.join(' | ')}` : ''}`).toBe(
      'done',
    );
  });

/** The page's latest inputs and each plan's outputs, as plain arrays. */
const runResults = (page: Page) =>
  page.evaluate(() => {
    const plain = (r: Record<string, { shape: readonly number[]; data: ArrayLike<number> }>) =>
      Object.fromEntries(
        Object.entries(r).map(([k, t]) => [k, { shape: [...t.shape], data: Array.from(t.data) }]),
      );
    const s = window.zeroskipDemo;
    return {
      inputs: plain(s.inputs!),
      runs: s.runs.map((r) => ({ plan: r.plan, outputs: plain(r.outputs) })),
    };
  });

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium is missing (${CHROMIUM}): run tooling/scripts/setup.sh, which installs Debian's chromium.`,
    );
  outDir = mkdtempSync(join(tmpdir(), 'zeroskip-demo-'));
  await build({ root: ROOT, logLevel: 'error', build: { outDir, emptyOutDir: true } });
  server = await preview({
    root: ROOT,
    logLevel: 'error',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0 },
  });
  url = server.resolvedUrls!.local[0]!;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('demo page in Chromium', () => {
  let page: Page;

  it('loads with WebGPU on SwiftShader and no console errors', async () => {
    page = await open();
    expect(await page.textContent('#backend')).toMatch(/^WebGPU on /);
    expect(await page.evaluate(() => window.zeroskipDemo.backend?.kind)).toBe('webgpu');
    expect(errors).toEqual([]);
  });

  for (const [file, plans] of [
    ['lenet5.onnx', ['dense', 'auto', 'tuned']],
    ['squeezenet1_1.onnx', ['dense', 'auto', 'tuned']],
  ] as const) {
    it(`compresses ${file} in a worker and runs every plan as the Node CPU executor does`, async () => {
      await page.setInputFiles('#file', join(MODELS, file));
      // the panel is still 'done' from the previous file until the new file has been read
      await page.waitForFunction(
        (f) => document.querySelector('#model .status')?.textContent?.includes(f),
        file,
      );
      await done(page, 'model');
      await page.locator('#prune').fill('0.5');
      await page.selectOption('#cluster-conv', '8');
      await page.selectOption('#cluster-fc', '5');
      await page.check('#huffman');
      await page.click('#compress-button');
      await done(page, 'compress');
      const zsk = await page.evaluate(async () => {
        const a = document.querySelector<HTMLAnchorElement>('#download')!;
        return Array.from(new Uint8Array(await (await fetch(a.href)).arrayBuffer()));
      });
      const total = await page.evaluate(() => window.zeroskipDemo.compressed!.total);
      expect(total.bytes).toBeLessThan(total.denseBytes / 4);
      const layers = await page.locator('#compress table tbody tr').count();
      expect(await page.locator('#compress svg.chart').count()).toBe(1);

      for (const p of ['dense', 'auto', 'tuned'])
        await page.setChecked(`#plan-${p}`, plans.includes(p as never));
      await page.fill('#steady-runs', '2');
      await page.fill('#tune-iterations', '1');
      await page.click('#run-button');
      await done(page, 'run');
      const { inputs, runs } = await runResults(page);
      expect(runs.map((r) => r.plan)).toEqual(plans);

      // the downloaded file, decoded and run by the CPU executor here, is the reference
      const graph = decodeZsk(Uint8Array.from(zsk)).graph;
      const weights = graph.nodes.filter((n) => WEIGHT_LAYER_OPS.has(n.op));
      expect(weights.length).toBe(layers);
      const expected = runCpu(graph, fromPlain(inputs));
      for (const r of runs) expectClose(r.outputs, expected, `${file} ${r.plan}`);
      expect(await page.locator('#run svg.chart').count()).toBe(1);
      expect(errors).toEqual([]);

      if (file === 'lenet5.onnx')
        for (const panel of ['model', 'compress', 'run'])
          await page.locator(`#${panel}`).screenshot({ path: join(SHOTS, `${panel}.png`) });
    });
  }

  it('classifies a drawn digit with every shipped model as the Node CPU executor does', async () => {
    await page.locator('#pad').scrollIntoViewIfNeeded();
    const pad = (await page.locator('#pad').boundingBox())!;
    // a "7": a top bar, then a slanted stroke down
    const stroke = async (points: readonly (readonly [number, number])[]) => {
      await page.mouse.move(pad.x + points[0]![0] * pad.width, pad.y + points[0]![1] * pad.height);
      await page.mouse.down();
      for (const [x, y] of points.slice(1))
        await page.mouse.move(pad.x + x * pad.width, pad.y + y * pad.height, { steps: 8 });
      await page.mouse.up();
    };
    await stroke([
      [0.3, 0.25],
      [0.7, 0.25],
      [0.45, 0.8],
    ]);
    await done(page, 'digits');
    const { input, results } = await page.evaluate(() => {
      const d = window.zeroskipDemo.digits;
      return {
        input: { shape: [...d.input!.shape], data: Array.from(d.input!.data) },
        results: d.results.map((r) => ({ name: r.name, digit: r.digit, scores: Array.from(r.scores) })),
      };
    });
    expect(results.map((r) => r.name)).toEqual(Object.keys(PRETRAINED));
    for (const r of results) {
      const graph: Graph = optimize(decodeZsk(await loadPretrained(r.name)).graph);
      const expected = runCpu(graph, { [graph.inputs[0]!.name]: fromPlain({ x: input }).x! });
      expectClose({ [graph.outputs[0]!]: { shape: [1, 10], data: r.scores } }, expected, r.name);
    }
    expect(results.find((r) => r.name === 'fp32')!.digit).toBe(7);
    expect(results.filter((r) => r.digit === 7).length).toBeGreaterThanOrEqual(4);
    await page.locator('#digits').screenshot({ path: join(SHOTS, 'digits.png') });
    expect(errors).toEqual([]);
  });

  it('runs on the CPU executor with a notice when the browser has no WebGPU', async () => {
    const cpuPage = await open(() => {
      Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined });
    });
    expect(await cpuPage.textContent('#backend')).toMatch(/^No WebGPU, running on the CPU executor: /);
    await cpuPage.selectOption('#zoo', 'lenet-5');
    await cpuPage.click('#zoo-load');
    await done(cpuPage, 'model');
    await cpuPage.click('#run-button');
    await done(cpuPage, 'run');
    const { inputs, runs } = await runResults(cpuPage);
    expect(runs.map((r) => r.plan)).toEqual(['cpu']);
    const expected = runCpu(optimize(ZOO['lenet-5']!.build({ seed: 1 })), fromPlain(inputs));
    expectClose(runs[0]!.outputs, expected, 'zoo lenet-5 on the CPU executor');
    await cpuPage.close();
    expect(errors).toEqual([]);
  });

  it('made no request beyond its own files', () => {
    expect(foreign).toEqual([]);
  });
});
