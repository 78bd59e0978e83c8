// Prints vitest's JSON report as one closing line, "N passed, N failed, N skipped", and exits non-zero on
// any failure, so that CI logs end with a count whatever ran before.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { numPassedTests: passed, numFailedTests: failed, numPendingTests: p, numTodoTests: t } = report;
console.log(`\ntests: ${passed} passed, ${failed} failed, ${p + t} skipped`);
process.exit(failed > 0 || passed === 0 || report.success === false ? 1 : 0);
