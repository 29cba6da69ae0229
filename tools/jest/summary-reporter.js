// Records each Jest run's counts under tmp/test-results/, so `./pulse test` can print one total line
// for the whole suite (unit and integration tests of every project).
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
      }),
    );
  }
}

module.exports = SummaryReporter;
