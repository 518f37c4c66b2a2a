// Runs every vitest project in one process and ends with the plain closing line CI reads:
// "tests: N passed, N failed, N skipped". A run that executes no test fails.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const scratch = mkdtempSync(join(tmpdir(), 'nxs-vitest-'));
const report = join(scratch, 'report.json');
const args = [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...process.argv.slice(2),
];
const child = spawn('npx', args, { stdio: 'inherit' });
const code = await new Promise((resolve) =>
  child.on('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))),
);

let summary;
try {
  summary = JSON.parse(readFileSync(report, 'utf8'));
} catch {
  summary = undefined;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (!summary) {
  console.log('tests: 0 passed, 1 failed');
  console.error('run-tests: vitest wrote no report (it crashed before running tests)');
  process.exit(code || 1);
}
// Count from the per-test results, so each test is counted once whatever the totals include.
const results = (summary.testResults ?? []).flatMap((file) => file.assertionResults ?? []);
const count = (status) => results.filter((result) => result.status === status).length;
const passed = count('passed');
const skipped = count('skipped') + count('pending') + count('todo');
// A test file that fails to load has no results: it counts as one failure, so a broken import never reads as green.
const brokenFiles = (summary.testResults ?? []).filter(
  (file) =>
    file.status === 'failed' && !(file.assertionResults ?? []).some((result) => result.status === 'failed'),
).length;
const failed = count('failed') + brokenFiles;
console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (passed === 0) {
  console.error('run-tests: no test ran');
  process.exit(1);
}
process.exit(code);
