// Records each Jest run's counts under tmp/test-results/, so `./pulse test` can print one total line
// for the whole suite (unit and integration tests of every project) and, at its end, which tests failed and why
// (the first lines of each failure), where a CI log's tail shows them.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join, relative } = require('node:path');

const workspaceRoot = join(__dirname, '..', '..');

class SummaryReporter {
  constructor(globalConfig, options = {}) {
    this.globalConfig = globalConfig;
    this.kind = options.kind ?? 'unit';
  }

  onRunComplete(_contexts, results) {
    const project = relative(workspaceRoot, this.globalConfig.rootDir).replace(/[\\/]/g, '_') || 'root';
    const dir = join(workspaceRoot, 'tmp', 'test-results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, `${this.kind}-${project}.json`),
      JSON.stringify({
        project,
        kind: this.kind,
        passed: results.numPassedTests,
        failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
        skipped: results.numPendingTests + results.numTodoTests,
        failures: failures(results),
      }),
    );
  }
}

function failures(results) {
  const rows = [];
  for (const suite of results.testResults) {
    const file = relative(workspaceRoot, suite.testFilePath);
    if (suite.testExecError || (suite.failureMessage && suite.numFailingTests === 0)) {
      rows.push({ file, test: '(suite did not run)', message: firstLines(suite.testExecError?.message ?? suite.failureMessage) });
    }
    for (const test of suite.testResults) {
      if (test.status === 'failed') rows.push({ file, test: test.fullName, message: firstLines(test.failureMessages.join('\n')) });
    }
  }
  return rows;
}

function firstLines(text = '') {
  // eslint-disable-next-line no-control-regex
  const plain = String(text).replace(/\u001b\[[0-9;]*m/g, '');
  const lines = plain
    .split('\n')
    .map((line) => line.trimEnd())
    .filter(Boolean);
  const frame = lines.findIndex((line) => /^\s+at /.test(line));
  // The message, and the first stack frame (the test's own line); not the test runner's frames.
  const kept = frame < 0 ? lines : [...lines.slice(0, frame).slice(0, 8), lines[frame].trim()];
  return kept.slice(0, 9).join('\n');
}

module.exports = SummaryReporter;
