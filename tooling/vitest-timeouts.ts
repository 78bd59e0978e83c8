/**
 * Test and hook time limits for every project. Only a hang should hit them: CI machines have two
 * cores, may be busy, and compile shaders on a software driver, so a fast test there can take minutes.
 */
export const timeouts = { testTimeout: 900_000, hookTimeout: 300_000 } as const;
