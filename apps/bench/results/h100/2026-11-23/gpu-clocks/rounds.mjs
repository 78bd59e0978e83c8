// per-layer dense kernels and binary convs, each config timed in 3 interleaved rounds
import { requestDevice, Conv2dLayer, convGeometry, DENSE_KERNELS, denseKernelApplies, QuantConvLayer, encodePack, packedShape } from '@zeroskip/gpu';
const gpu = await requestDevice();
const conv = JSON.parse(process.argv[2]); const bin = JSON.parse(process.argv[3]);
const jobs = [];
for (const [name,n,c,h,o,k,s,p] of conv) {
  const g = convGeometry([n,c,h,h],[o,c,k,k],{stride:[s,s],pads:[p,p,p,p]});
  const x = gpu.tensor([n,c,h,h], Float32Array.from({length:n*c*h*h},(_, i)=>Math.sin(i)));
  const w = Float32Array.from({length:o*c*k*k},(_, i)=>Math.cos(i));
  for (const d of DENSE_KERNELS) { if (!denseKernelApplies(d,g)) continue;
    const l = new Conv2dLayer(gpu,{weights:w,shape:[o,c,k,k],stride:[s,s],pads:[p,p,p,p],algorithm:'implicit-gemm',dense:d});
    jobs.push({key:`${name} b${n} ${d}`, flop:2*n*o*g.ho*g.wo*c*k*k, rec:r=>{for(let q=0;q<10;q++) gpu.release(l.encode(r,x));}});
  }
}
for (const [name,n,c,h,o,k,s,p,lanes] of bin) {
  const spec = { activations:'sign', weights:'binary', output:'sign', conv:{pads:[p,p,p,p], stride:[s,s]} };
  const w = Float32Array.from({length:o*c*k*k},(_, i)=> (i*7919%13)<6?-1:1);
  const layer = new QuantConvLayer(gpu, spec, w, [o,c,k,k], {thresholds:new Float32Array(o)}, lanes?{lanes}:{});
  const xs=[n,c,h,h]; const x = gpu.tensor(xs, Float32Array.from({length:n*c*h*h},(_, i)=>Math.sin(i)));
  const xb = gpu.empty(packedShape(xs, layer.inputEncoding),'u32');
  await gpu.submit(r=>encodePack(r,x,xb,xs,layer.inputEncoding));
  jobs.push({key:`${name} b${n} binary lanes=${lanes||'auto'}`, rec:r=>{for(let q=0;q<10;q++) gpu.release(layer.encode(r,xb));}});
}
const res = Object.fromEntries(jobs.map(j=>[j.key,[]]));
for (let round=0; round<3; round++) for (const j of jobs) {
  const t0=performance.now(); while(performance.now()-t0<60) await gpu.submit(j.rec);
  const s=[]; for(let i=0;i<7;i++){ const pr=await gpu.profile(j.rec); s.push(pr.ms/10); }
  s.sort((a,b)=>a-b); res[j.key].push(+s[3].toFixed(4));
}
for (const j of jobs) console.log(JSON.stringify({key:j.key, ms:res[j.key], tflops: j.flop? +(j.flop/Math.min(...res[j.key])/1e9).toFixed(2):undefined}));
gpu.destroy();
