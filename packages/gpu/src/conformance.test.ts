import { afterAll, beforeAll, describe, it } from 'vitest';
import { conformanceCases } from './conformance/index.js';
import { type Gpu, requestDevice } from './device.js';

// The conformance suite on whatever adapter this machine has (lavapipe in CI): one device for all.
let gpu: Gpu | undefined;
beforeAll(async () => {
  gpu = await requestDevice();
});
afterAll(() => gpu?.destroy());

const groups = [...new Set(conformanceCases.map((c) => c.group))];
describe.each(groups)('%s', (group) => {
  for (const c of conformanceCases.filter((x) => x.group === group)) {
    it(c.name, async () => {
      if (!gpu) throw new Error('no device');
      await c.run(gpu);
    });
  }
});
