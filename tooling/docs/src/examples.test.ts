import { describe, expect, it } from 'vitest';
import { exampleFiles, runExample } from './examples.js';

/** What each example prints when it worked: a line the example only reaches at its end. */
const EXPECTED: Readonly<Record<string, RegExp>> = {
  'browser.ts': /a vertical stroke reads as \d/,
  'compress.ts': /out\/lenet5.zsk: \d+ bytes, reproduces the compressed model exactly/,
  'errors.ts': /RuntimeError corrupt-file[\s\S]*RuntimeError invalid-input[\s\S]*scores \[1, 10\]/,
  'model-and-input.ts': /input 'input': float32 \[1, 1, 28, 28\]/,
  'pretrained.ts': /binarynet: \d+ of 200 test digits right/,
  'profile.ts': /clock gpu-(timestamp|submit-wall): GPU/,
  'run-cpu.ts': /output 1×10, class \d/,
  'run-webgpu.ts': /plan dense:[\s\S]*plan auto:[\s\S]*tuned:/,
  'train.ts': /scores of the first test digit/,
};

describe('guide examples', () => {
  it('every example has an expectation here', () => {
    expect(exampleFiles()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const [file, expected] of Object.entries(EXPECTED))
    it(`${file} runs`, async () => {
      expect(await runExample(file, 600_000)).toMatch(expected);
    });
});
