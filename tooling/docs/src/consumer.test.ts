import { describe, expect, it } from 'vitest';
import { MODULE_SETTINGS, typecheckConsumer } from './consumer.js';

describe("a strict consumer's TypeScript compiles against the built packages", () => {
  for (const [name, settings] of Object.entries(MODULE_SETTINGS))
    it(`moduleResolution ${name}, no skipLibCheck`, async () => {
      expect(await typecheckConsumer(settings)).toBe('');
    });

  it('with @zeroskip/train, under skipLibCheck (for TF.js declarations)', async () => {
    expect(await typecheckConsumer({ ...MODULE_SETTINGS.bundler, skipLibCheck: true }, true)).toBe('');
  });
});
