// Exits 0 when Dawn (the `webgpu` package) finds a WebGPU adapter, 1 otherwise; prints which.
import { create } from 'webgpu';

const gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.log('probe: no WebGPU adapter');
  process.exit(1);
}
const info = adapter.info;
console.log(`probe: WebGPU adapter ${info.vendor} ${info.architecture} ${info.device} (${info.description})`);
process.exit(0);
