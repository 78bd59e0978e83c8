// Decodes one .zsk in a new process, one way per run, and prints one JSON line:
//   node workers-trace.mjs FILE sync            decodeZsk
//   node workers-trace.mjs FILE syncjobs        each sparse payload alone on this thread, timed
//   node workers-trace.mjs FILE async N         decodeZskAsync with N workers (the first design)
//   node workers-trace.mjs FILE trace N         N bare workers, largest payload first: when each came
//                                               online, and when each payload was sent and answered
// Bundled with esbuild (webgpu external); the payload worker sits in tables/ beside the bundle.
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { decodeZsk, decodeZskAsync } from '@zeroskip/runtime';
import { decodeWeightPayloadCsr, PayloadScratch } from '@zeroskip/sparse';

const [file, mode, n] = process.argv.slice(2) as [string, string, string];
const bytes = new Uint8Array(readFileSync(file));
const now = () => performance.now();

/** The sparse payloads: tensor sections (kind 2) that start with the payload magic "ZSWP". */
function payloads(): Uint8Array[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const count = v.getUint32(8, true);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const at = 16 + 16 * i;
    const [kind, off, len] = [v.getUint32(at, true), v.getUint32(at + 4, true), v.getUint32(at + 8, true)];
    if (kind === 2 && len >= 4 && v.getUint32(off, true) === 0x5057535a) out.push(bytes.subarray(off, off + len));
  }
  return out;
}

const t0 = now();
const rec: Record<string, unknown> = { file: file.split('/').pop(), mode, n: Number(n ?? 0) };
if (mode === 'sync') decodeZsk(bytes);
else if (mode === 'async') await decodeZskAsync(bytes, { workers: Number(n) });
else if (mode === 'syncjobs') {
  const scratch = new PayloadScratch();
  rec.jobs = payloads().map((p) => {
    const s = now();
    decodeWeightPayloadCsr(p, { scratch });
    return [p.length, +(now() - s).toFixed(2)];
  });
} else if (mode === 'trace') {
  const ps = payloads();
  const order = ps.map((_, i) => i).sort((a, b) => ps[b]!.length - ps[a]!.length);
  const url = new URL('./tables/payload-worker.js', import.meta.url);
  const events: unknown[] = [];
  let next = 0;
  let done = 0;
  await new Promise<void>((resolve) => {
    for (let k = 0; k < Number(n); k++) {
      const w = new Worker(url);
      let sent = 0;
      const feed = () => {
        if (next === order.length) return void w.terminate();
        const id = order[next++]!;
        const own = ps[id]!.slice();
        sent = now();
        w.postMessage({ id, bytes: own }, [own.buffer]);
      };
      w.on('online', () => events.push(['online', k, +(now() - t0).toFixed(1)]));
      w.on('message', (r: { id: number }) => {
        events.push(['job', k, ps[r.id]!.length, +(sent - t0).toFixed(1), +(now() - t0).toFixed(1)]);
        if (++done === ps.length) resolve();
        feed();
      });
      feed();
    }
  });
  rec.events = events;
}
rec.ms = +(now() - t0).toFixed(1);
console.log(JSON.stringify(rec));
process.exit(0);
