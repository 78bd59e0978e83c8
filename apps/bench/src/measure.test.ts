import { describe, expect, it } from 'vitest';
import { summarize } from './measure.js';

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
