// Where the staged sparse conv's time goes: text variants of its WGSL (and of its staging), timed side
// by side on one device at batch 32, 90% sparsity. Each call named the variants it ran in `main`:
//   call 1 (51a2524): base nofetch nobarrier onetap notaps same ahead2 ahead3 ptr ptr2, then base ahead2
//     ptr2 on a device without robustness;
//   call 2 (51a2524): base nofetch nobarrier onetap notaps loop cheapfetch unroll2 unroll4 hoist hoist2
//     hoistUnroll2, then base unroll2 unroll4 without robustness;
//   call 3 (7160ebb's kernel, 8 warps by default): base w16 w16hoist hoist r8 w4 c6 nofetch cheapfetch
//     nobarrier;
//   call 4 (7160ebb): base w8 w16.
// The rewrites of the walk (same, ahead*, ptr*, unroll*, onetap, notaps) match the kernel text at 51a2524.
import { Conv2dLayer, requestDevice, type Gpu, type SparseStaging } from '@zeroskip/gpu';
import { pruneByRate } from '@zeroskip/quant';
import { timeGpu } from '../measure.js';
import { gaussian } from '../rng.js';

const layers = [
  ['conv1_2', 64, 224, 64, 3, 1],
  ['conv4_2', 512, 28, 512, 3, 1],
  ['conv5_2', 512, 14, 512, 3, 1],
  ['res3a', 128, 28, 128, 3, 1],
  ['3a/3x3', 96, 28, 128, 3, 1],
  ['conv3_2', 256, 56, 256, 3, 1],
  ['alex2', 96, 27, 256, 5, 2],
  ['res4a', 256, 14, 256, 3, 1],
] as const;

type Tx = (w: string) => string;
const num = (w: string, re: RegExp) => Number(re.exec(w)![1]);
const walkRe = /if \(live(\d+)\) \{[\s\S]*?\n    \}/g;
const tapsOf = (block: string) => block.match(/a\d+_\d+ = fma\(v, win\[b \+ \d+u\], a\d+_\d+\);/g)!;

/** Loads each non-zero's value and offset `ahead` iterations early; with `ptr`, each pass's pointers and
 * first non-zero one pass early. */
function rewrite(ahead: number, ptr: boolean): Tx {
  return (w) => {
    const p1 = num(w, /o0 \* (\d+)u \+ t/);
    const last = num(w, /min\(s, (\d+)u\)/);
    let out = w.replace(walkRe, (block, r: string) => {
      const taps = tapsOf(block).join('\n          ');
      const head = ptr
        ? `let lo = lo${r}; let hi = hi${r};
      var v0 = fv${r}; var s0 = lane + fs${r};
      lo${r} = hi;
      hi${r} = passPtr[o${r} * ${p1}u + min(t + 2u, ${p1 - 1}u)];
      fv${r} = value(min(hi, nnzLast)); fs${r} = offs[min(hi, nnzLast)];`
        : `let at = o${r} * ${p1}u + t;
      let lo = passPtr[at];
      let hi = passPtr[at + 1u];`;
      const first = ptr ? '' : 'var v0 = value(lo); var s0 = lane + offs[lo];';
      const pre = Array.from({ length: ahead - 1 }, (_, k) => k + 1)
        .map((k) => `var v${k} = value(min(lo + ${k}u, m)); var s${k} = lane + offs[min(lo + ${k}u, m)];`)
        .join('\n        ');
      const shift = Array.from({ length: ahead - 1 }, (_, k) => `v${k} = v${k + 1}; s${k} = s${k + 1};`).join(' ');
      return `if (live${r}) {
      ${head}
      if (lo < hi) {
        let m = hi - 1u;
        ${first}
        ${pre}
        for (var j = lo + ${ahead}u; j < hi + ${ahead}u; j++) {
          let next = min(j, m);
          let vn = value(next);
          let sn = lane + offs[next];
          let b = min(s0, ${last}u);
          let v = v0;
          ${taps}
          ${shift} v${ahead - 1} = vn; s${ahead - 1} = sn;
        }
      }
    }`;
    });
    if (ptr) {
      const rows = [...w.matchAll(/let live(\d+) =/g)].map((m) => m[1]!);
      const decl = rows
        .map(
          (r) =>
            `var lo${r} = passPtr[o${r} * ${p1}u]; var hi${r} = passPtr[o${r} * ${p1}u + 1u]; var fv${r} = value(min(lo${r}, nnzLast)); var fs${r} = offs[min(lo${r}, nnzLast)];`,
        )
        .join('\n  ');
      out = out.replace(/\n  (var f0 = 0\.0;)/, `\n  let nnzLast = arrayLength(&offs) - 1u;\n  ${decl}\n  $1`);
    }
    return out;
  };
}

/** Walks `n` non-zeros per loop iteration, the rest one at a time. */
function unroll(n: number): Tx {
  return (w) => {
    const p1 = num(w, /o0 \* (\d+)u \+ t/);
    const last = num(w, /min\(s, (\d+)u\)/);
    return w.replace(walkRe, (block, r: string) => {
      const taps = (k: number) => tapsOf(block).map((t) => t.replace(/\(v,/, `(v${k},`).replace(/win\[b /, `win[b${k} `)).join('\n          ');
      const one = (k: number, at: string) => `let v${k} = value(${at}); let b${k} = min(lane + offs[${at}], ${last}u);`;
      const ks = Array.from({ length: n }, (_, k) => k);
      return `if (live${r}) {
      let at = o${r} * ${p1}u + t;
      let lo = passPtr[at];
      let hi = passPtr[at + 1u];
      var j = lo;
      loop {
        if (j + ${n - 1}u >= hi) { break; }
        ${ks.map((k) => one(k, `j + ${k}u`)).join('\n        ')}
        ${ks.map(taps).join('\n          ')}
        j += ${n}u;
      }
      for (; j < hi; j++) {
        ${one(0, 'j')}
        ${taps(0)}
      }
    }`;
    });
  };
}

const noFetch: Tx = (w) => w.replace(/if \(t \+ 1u < \d+u\) \{[\s\S]*?\n    \}/, '');
const noTaps: Tx = (w) =>
  w
    .replace(/a(\d+)_0 = fma\(v, win\[b \+ 0u\], a\d+_0\);/g, 'a$1_0 += v * f32(b);')
    .replace(/\n\s*a\d+_[1-9]\d* = fma\(v, win\[b \+ \d+u\], a\d+_\d+\);/g, '');
/** The fetch's loads without its index arithmetic or bounds (wrong values: timing only). */
const cheapFetch: Tx = (w) =>
  w.replace(/(fn fetch\(e: u32, c0: u32, iy0: i32, ix0: i32, image: u32\) -> f32 \{)[\s\S]*?\n\}/, `$1\n  return x[image + c0 * 1024u + e];\n}`);

/**
 * The fetch's index arithmetic done once, before the passes: each prefetched element's offset from its
 * pass's first channel, or a sentinel off the map; a pass then compares it with its channels' extent.
 */
function hoist(places: boolean): Tx {
  return (w) => {
    const perChan = num(w, /let cl = e \/ (\d+)u;/);
    const perPass = num(w, /if \(e < (\d+)u && c0/);
    const cg = num(w, /c0 \+ cl < (\d+)u &&/);
    const h = num(w, /iy < i32\((\d+)u\)/);
    const wd = num(w, /ix < i32\((\d+)u\)/);
    const ks = [...w.matchAll(/var f(\d+) = 0\.0;/g)].map((m) => Number(m[1]));
    const threads = num(w, /@workgroup_size\((\d+)\)/);
    const fns = `
fn fetchAt(e: u32, iy0: i32, ix0: i32) -> u32 {
  let cl = e / ${perChan}u;
  let iy = iy0 + i32((e / RW) % RH);
  let ix = ix0 + i32(e % RW);
  if (e < ${perPass}u && iy >= 0 && iy < i32(${h}u) && ix >= 0 && ix < i32(${wd}u)) {
    return cl * ${h * wd}u + u32(iy) * ${wd}u + u32(ix);
  }
  return 0xffffffffu;
}
fn fetchQ(q: u32, c0: u32, image: u32) -> f32 {
  if (q < (${cg}u - c0) * ${h * wd}u) { return x[image + c0 * ${h * wd}u + q]; }
  return 0.0;
}`;
    const rw = num(w, /let ix = ix0 \+ i32\(e % (\d+)u\);/);
    const rh = num(w, /\(e \/ \d+u\) % (\d+)u\);/);
    let out = w.replace(/\nfn place/, `${fns.replace(/RW/g, `${rw}u`).replace(/RH/g, `${rh}u`)}\nfn place`);
    const decl = ks
      .map((k) => `let q${k} = fetchAt(li + ${k * threads}u, iy0, ix0);${places ? ` let z${k} = place(li + ${k * threads}u);` : ''}`)
      .join('\n  ');
    out = out.replace(/\n  (var f0 = 0\.0;)/, `\n  ${decl}\n  $1`);
    out = out.replace(/f(\d+) = fetch\(li \+ \d+u, ([^,]+), iy0, ix0, image\);/g, 'f$1 = fetchQ(q$1, $2, image);');
    if (places) out = out.replace(/win\[place\(li \+ (\d+)u\)\] = f(\d+);/g, 'win[z$2] = f$2;');
    return out;
  };
}

type Restage = (s: SparseStaging) => SparseStaging;
const restaged: Record<string, Restage> = {
  w8: (s) => ({ ...s, warps: 8 }),
  w16: (s) => ({ ...s, warps: 16 }),
  w16hoist: (s) => ({ ...s, warps: 16 }),
  r8: (s) => ({ ...s, rows: 8 }),
  w4: (s) => ({ ...s, warps: 4 }),
  c6: (s) => ({ ...s, channels: Math.max(1, Math.floor(s.channels / 2)) }),
};

const variants: Record<string, Tx | undefined> = {
  base: undefined,
  w8: undefined,
  w16: undefined,
  w16hoist: hoist(false),
  r8: undefined,
  w4: undefined,
  c6: undefined,
  nofetch: noFetch,
  nobarrier: (w) => w.replace(/workgroupBarrier\(\);/g, ''),
  onetap: (w) => w.replace(/\n\s*a\d+_[1-9]\d* = fma\(v, win\[b \+ \d+u\], a\d+_\d+\);/g, ''),
  notaps: noTaps,
  loop: (w) => noTaps(noFetch(w)),
  same: rewrite(1, false),
  ahead2: rewrite(2, false),
  ahead3: rewrite(3, false),
  ptr: rewrite(1, true),
  ptr2: rewrite(2, true),
  cheapfetch: cheapFetch,
  unroll2: unroll(2),
  unroll4: unroll(4),
  hoist: hoist(false),
  hoist2: hoist(true),
  hoistUnroll2: (w) => unroll(2)(hoist(false)(w)),
};

const out: unknown[] = [];
const keep: GPU[] = [];

async function main() {
  await onDevice(false, ['base', 'w8', 'w16'], layers);
  
  const fs = await import('node:fs');
  fs.writeFileSync(`${process.env.OUT ?? '/tmp'}/r/exp.json`, JSON.stringify(out, null, 1));
}

async function onDevice(unsafe: boolean, names: string[], which: readonly (typeof layers)[number][]) {
  const name = 'webgpu';
  const mod = (await import(name)) as { create(flags: string[]): GPU };
  const inst = mod.create([
    'disable-dawn-features=timestamp_quantization',
    ...(unsafe ? ['enable-dawn-features=disable_robustness'] : []),
  ]);
  keep.push(inst);
  const gpu: Gpu = await requestDevice({ gpu: inst });
  let current: Tx | undefined;
  let tag = 'base';
  const orig = gpu.pipeline.bind(gpu);
  // biome-ignore lint/suspicious/noExplicitAny: experiment hook
  const programs = new Map<string, any>();
  let restage: Restage | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: experiment hook
  (gpu as any).pipeline = (prog: any, spec: any) => {
    if (prog.name !== 'conv-sparse-staged' || !current) return orig(prog, spec);
    const tx = current;
    void restage;
    if (!programs.has(tag)) programs.set(tag, { name: `${prog.name}-${tag}`, wgsl: (s: unknown) => { const w = tx(prog.wgsl(s)); if (process.env.DUMP_WGSL === tag) console.log(w); return w; } });
    return orig(programs.get(tag), spec);
  };
  const dump = process.argv.includes('--dump');
  for (const [lname, c, hw, o, k, pad] of which) {
    const shape = [o, c, k, k] as const;
    const weights = pruneByRate(gaussian(o * c * k * k, 42), 0.9).weights;
    const batch = dump ? 1 : 32;
    const x = gpu.tensor([batch, c, hw, hw], gaussian(batch * c * hw * hw, 43));
    let ref: Float32Array | undefined;
    for (const vname of names) {
      const tx = variants[vname];
      current = tx;
      tag = vname;
      restage = restaged[vname];
      const pads = [pad, pad, pad, pad] as const;
      const plain = new Conv2dLayer(gpu, { weights, shape, pads, algorithm: 'sparse-staged' });
      const staging = restage?.(plain.stagingFor(plain.geometry(x.shape)));
      const layer = staging ? new Conv2dLayer(gpu, { weights, shape, pads, algorithm: 'sparse-staged', staging }) : plain;
      // check the rewrites that keep the arithmetic
      let yt: ReturnType<typeof layer.encode> | undefined;
      await gpu.submit((r) => {
        yt = layer.encode(r, x);
      });
      const vals = await gpu.read(yt!);
      gpu.release(yt!);
      let diff = 0;
      if (!ref) ref = vals;
      else for (let i = 0; i < vals.length; i++) diff = Math.max(diff, Math.abs(vals[i]! - ref[i]!));
      if (dump) { console.log(vname, lname, 'maxdiff', diff); continue; }
      const t = await timeGpu(gpu, (r) => gpu.release(layer.encode(r, x)), 3, 9);
      const row = { unsafe, layer: lname, variant: vname, staging: staging ? JSON.stringify(staging) : undefined, ms: t.median, p10: t.p10, p90: t.p90, maxdiff: diff };
      console.log(JSON.stringify(row));
      out.push(row);
      layer.destroy();
      if (layer !== plain) plain.destroy();
    }
    gpu.release(x);
  }
  gpu.destroy();
}
main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
