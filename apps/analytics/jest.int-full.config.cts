const { join } = require('node:path');

// The long integration specs, run by hand (`nx run analytics:int-test-full`, ~3 min quiet, ~10 min on a busy machine):
// every job of the pipeline on the larger world, and the failure cases that need several Spark runs.
module.exports = {
  displayName: 'analytics:int-full',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/**/*-full.int-spec.ts'],
  reporters: ['default', [join(__dirname, '../../tools/jest/summary-reporter.js'), { kind: 'int-full' }]],
};
