import fc from 'fast-check';

// fast-check arbitraries that the op tests share.

export const int = (min: number, max: number) => fc.integer({ min, max });

/** A seed for the test data of one run (see ./random.ts). */
export const seedArb = int(1, 1 << 30);

/** Shapes of rank `minRank` to `maxRank`, each axis 1 to `maxDim` long (small: the GPU is a software one). */
export const shapeArb = (minRank: number, maxRank: number, maxDim = 4) =>
  fc.array(int(1, maxDim), { minLength: minRank, maxLength: maxRank });
