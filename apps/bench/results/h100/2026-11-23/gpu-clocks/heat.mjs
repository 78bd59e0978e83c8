// GPU clock ramp and decay: per-submit times of a heavy conv from cold, after pauses, and under a light load
import { requestDevice, Conv2dLayer } from '@zeroskip/gpu';
const gpu = await requestDevice();
const mk = (n,c,h,o) => { const x = gpu.tensor([n,c,h,h], Float32Array.from({length:n*c*h*h},(_, i)=>Math.sin(i)));
  const l = new Conv2dLayer(gpu,{weights:Float32Array.from({length:o*c*9},(_, i)=>Math.cos(i)),shape:[o,c,3,3],pads:[1,1,1,1],algorithm:'implicit-gemm',dense:'gemm-large'});
  return r=>gpu.release(l.encode(r,x)); };
const heavy = mk(32,256,28,256), light = mk(1,64,28,64);
await gpu.submit(heavy); await gpu.submit(light);
const T0 = performance.now(); const log = [];
const timed = async (tag, rec) => { const t=performance.now(); const p = await gpu.profile(rec); log.push({tag, t:+((t-T0)/1000).toFixed(3), gpu:+p.ms.toFixed(4), wall:+(performance.now()-t).toFixed(3)}); };
const sleep = ms => new Promise(r=>setTimeout(r,ms));
while (performance.now()-T0 < 8000) await timed('heavy-cold', heavy);
for (const pause of [50,200,1000,3000]) { await sleep(pause); for (let i=0;i<15;i++) await timed(`heavy-after-${pause}ms`, heavy); }
let t1=performance.now(); while (performance.now()-t1 < 3000) await timed('light', light);
for (let i=0;i<10;i++) await timed('heavy-after-light', heavy);
await sleep(3000); t1=performance.now(); while (performance.now()-t1 < 3000) await timed('light-cold', light);
for (const e of log) console.log(JSON.stringify(e));
gpu.destroy();
