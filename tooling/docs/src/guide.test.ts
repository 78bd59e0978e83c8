import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DOCS, EXAMPLES, exampleFiles } from './examples.js';

/** Each `<!-- example: FILE -->` marker in the guide, with the fenced block that follows it. */
function includedBlocks(): { file: string; block: string | undefined }[] {
  const guide = readFileSync(join(DOCS, 'guide.md'), 'utf8');
  return [...guide.matchAll(/<!-- example: (\S+) -->\n\n(?:```\w*\n([\s\S]*?)```)?/g)].map((m) => ({
    file: m[1] ?? '',
    block: m[2],
  }));
}

it('the guide includes every example once, each block exactly as its file', () => {
  const blocks = includedBlocks();
  expect(blocks.map((b) => b.file).sort()).toEqual(exampleFiles());
  for (const { file, block } of blocks) expect(block, file).toBe(readFileSync(join(EXAMPLES, file), 'utf8'));
});

it('every fenced TypeScript block of the guide is an included example', () => {
  const guide = readFileSync(join(DOCS, 'guide.md'), 'utf8');
  expect(guide.match(/```ts\n/g)?.length).toBe(includedBlocks().length);
});
