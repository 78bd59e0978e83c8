import type { BenchTable } from './results.js';
import { bitwiseTable } from './tables/bitwise.js';
import { coldStartTable } from './tables/cold-start.js';
import { compressionTable } from './tables/compression.js';
import { convCrossoverTable } from './tables/conv-crossover.js';
import { loadTable } from './tables/load.js';
import { lowBitFcTable } from './tables/lowbit-fc.js';
import { networksTable } from './tables/networks.js';
import { peersTable } from './tables/peers.js';
import { quantizedNetsTable } from './tables/quantized-nets.js';
import { quantizerTable } from './tables/quantizers.js';
import { sparseCodec } from './tables/sparse-codec.js';
import { sparseConvTable } from './tables/sparse-conv.js';
import { transferTable } from './tables/transfer.js';

/** Every table, in the order the bench runs them. */
export const TABLES: readonly BenchTable[] = [
  sparseCodec,
  quantizerTable,
  sparseConvTable,
  convCrossoverTable,
  networksTable,
  transferTable,
  bitwiseTable,
  lowBitFcTable,
  quantizedNetsTable,
  compressionTable,
  loadTable,
  coldStartTable,
  peersTable,
];
