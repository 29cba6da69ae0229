const base = require('./jest.preset.js');

// Integration specs talk to the real stack started by tools/stack (Kafka, Cassandra, PostgreSQL, Redis).
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/**/*.int-spec.ts'],
  testTimeout: 60_000,
  // A leaked handle must fail loudly in a test, not hang CI: exit once the run is over.
  forceExit: true,
  globalSetup: require.resolve('./tools/jest/stack-global-setup.js'),
  reporters: ['default', [require.resolve('./tools/jest/summary-reporter.js'), { kind: 'int' }]],
};
