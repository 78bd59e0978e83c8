import { describe, expect, it } from 'vitest';
import { heatWith } from './gpu-clocks.js';

/** A probe that takes `times` in turn (the last one after those), each sample 10 ms of a fake clock. */
function fake(times: number[], best = Number.POSITIVE_INFINITY) {
  let t = 0;
  let i = 0;
  const probe = {
    best,
    time: async () => {
      t += 10;
      return times[Math.min(i++, times.length - 1)]!;
    },
  };
  return { probe: { ...probe, done: Number.NEGATIVE_INFINITY }, now: () => t, samples: () => i };
}

describe('heatWith', () => {
  it('heats at least 1.5 s the first time, and until the probe is as fast as its best', async () => {
    // idle clocks (7.5 ms) for 1 s of samples, then full clocks (1.4 ms)
    const f = fake([...Array(100).fill(7.5), 1.4]);
    await heatWith(f.probe, f.now);
    expect(f.probe.best).toBe(1.4);
    expect(f.samples()).toBe(150);
  });

  it('returns after one sample when the clocks are up, and heats on while the probe is slow', async () => {
    const hot = fake([1.45], 1.4);
    await heatWith(hot.probe, hot.now);
    expect(hot.samples()).toBe(1);
    const cold = fake([7.5, 7.5, 7.5, 1.5], 1.4);
    await heatWith(cold.probe, cold.now);
    expect(cold.samples()).toBe(4);
  });

  it('skips a GPU heated within the last 200 ms, and runs the probe once that has passed', async () => {
    const f = fake([1.4], 1.4);
    expect(await heatWith(f.probe, f.now)).toBe(true);
    expect(await heatWith(f.probe, f.now)).toBe(false);
    expect(f.samples()).toBe(1);
    const later = { ...f, now: () => f.now() + 200 };
    expect(await heatWith(f.probe, later.now)).toBe(true);
    expect(f.samples()).toBe(2);
  });

  it('gives up after 5 s when the clocks never come up', async () => {
    const f = fake([7.5], 1.4);
    await heatWith(f.probe, f.now);
    expect(f.samples()).toBe(500);
  });
});
