import { Conv2dLayer, type Gpu, type GpuTensor, type Recorder } from '@zeroskip/gpu';

// Why timings first raise the GPU's clocks. Measured on the H100 with nvidia-smi beside a probe
// (2026-11-23, results/h100/2026-11-23/gpu-clocks/): idle, its SM clock sits at 345 MHz; about two
// seconds without work bring it back there from 1980 MHz; and neither 0.1 s of heavy work nor 3 s of
// light work (a batch-1 layer, 12% busy) raised it again, so a kernel timed after a host-side pause
// ran up to 5.4× slower than the same kernel timed once the clocks were up. A big GEMM run without
// pause raises them within about a second.

/** A conv that keeps the whole GPU busy: about 15 GFLOP, under a millisecond at full clocks on an H100. */
const PROBE = { n: 16, c: 256, hw: 28, o: 256 } as const;

/** A probe timed this much slower than the fastest one seen means the clocks are not up. */
const SLOWER = 1.15;
/** The first heating runs at least this long, to find the probe's time at full clocks. */
const FIRST_MS = 1500;
/** Heating gives up after this long and lets the timing go on at whatever clocks the GPU has. */
const MAX_MS = 5000;
/**
 * A GPU heated this recently is taken to be hot: the clocks took a second without work to fall, and
 * each probe costs the call timed after it (0.27 → 0.78 ms for BinaryNet at batch 1 with a probe before
 * every sample), so samples taken in quick succession share one check.
 */
const FRESH_MS = 200;

/** A GPU's probe: its fastest time so far and when it last ended, in ms. */
interface Probe {
  readonly time: () => Promise<number>;
  best: number;
  done: number;
}

const probes = new WeakMap<Gpu, Probe>();

function probeOf(gpu: Gpu): Probe {
  let probe = probes.get(gpu);
  if (!probe) {
    const { n, c, hw, o } = PROBE;
    const x: GpuTensor = gpu.tensor([n, c, hw, hw], new Float32Array(n * c * hw * hw).fill(0.5));
    const layer = new Conv2dLayer(gpu, {
      weights: new Float32Array(o * c * 9).fill(0.01),
      shape: [o, c, 3, 3],
      pads: [1, 1, 1, 1],
      algorithm: 'implicit-gemm',
      dense: 'gemm-large',
    });
    const record = (r: Recorder) => gpu.release(layer.encode(r, x));
    probe = {
      time: async () => (await gpu.profile(record)).ms,
      best: Number.POSITIVE_INFINITY,
      done: Number.NEGATIVE_INFINITY,
    };
    probes.set(gpu, probe);
  }
  return probe;
}

/**
 * Times `probe` until it is within {@link SLOWER} of its fastest time (after {@link FIRST_MS} when it
 * has none yet), or for {@link MAX_MS} at most; `now` is the clock in ms. Nothing within
 * {@link FRESH_MS} of the last heating. Whether it ran the probe.
 */
export async function heatWith(probe: Probe, now: () => number = () => performance.now()): Promise<boolean> {
  const start = now();
  if (start - probe.done < FRESH_MS) return false;
  const settled = start + (probe.best === Number.POSITIVE_INFINITY ? FIRST_MS : 0);
  for (;;) {
    const ms = await probe.time();
    probe.best = Math.min(probe.best, ms);
    const t = now();
    if ((t >= settled && ms <= SLOWER * probe.best) || t - start >= MAX_MS) {
      probe.done = t;
      return true;
    }
  }
}

/**
 * Brings the GPU's clocks up before a timing: runs the probe until it is about as fast as it has ever
 * been in this process (at least {@link FIRST_MS} the first time). One probe, about a millisecond,
 * when they are up already. Nothing on a software adapter, whose CPU has no such clocks (and would
 * take seconds per probe), nor without timestamp queries, where the probe could not be timed alone.
 * Whether it ran the probe: the caller then runs its work once untimed, which takes the probe's cost.
 */
export async function heatGpu(gpu: Gpu): Promise<boolean> {
  if (gpu.software || !gpu.features.timestampQuery) return false;
  return heatWith(probeOf(gpu));
}
