import { describe, expect, it } from 'vitest';
import { measureInterleaved, summarize } from './measure.js';

describe('summarize', () => {
  it('interpolates the median and deciles of unsorted samples', () => {
    const t = summarize([10, 1, 9, 2, 8, 3, 7, 4, 6, 5, 11]);
    expect(t.median).toBe(6);
    expect(t.p10).toBe(2);
    expect(t.p90).toBe(10);
    expect(summarize([4, 2]).median).toBe(3);
  });
  it('refuses no samples', () => {
    expect(() => summarize([])).toThrow();
  });
});

describe('measureInterleaved', () => {
  it('times the functions in turns, one call of each per round, after warming up all of them', async () => {
    const calls: number[] = [];
    const fns = [0, 1, 2].map((k) => () => void calls.push(k));
    const timings = await measureInterleaved(fns, { warmup: 2, iterations: 4 });
    expect(timings.map((t) => t.samples)).toEqual([4, 4, 4]);
    // whole rounds throughout: the warm-up's (at least 2) and then the 4 timed ones
    expect(calls.length % 3).toBe(0);
    expect(calls.length / 3).toBeGreaterThanOrEqual(6);
    for (let i = 0; i < calls.length; i++) expect(calls[i]).toBe(i % 3);
  });
});
