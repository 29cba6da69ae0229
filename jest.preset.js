const nxPreset = require('@nx/jest/preset').default;
const { join } = require('node:path');

// Shared Jest settings of every project. Unit specs (`*.spec.ts`) run by `nx test <project>`;
// integration specs (`*.int-spec.ts`) by `nx int-test <project>` (see jest.int.preset.js).
module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json', isolatedModules: true }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    // ESM-only packages are loaded through Node's own require (Node 24 loads ESM synchronously),
    // because Jest's module registry cannot evaluate ES modules in a CommonJS test.
    '^@platformatic/kafka$': join(__dirname, 'tools/jest/native-require/platformatic-kafka.cjs'),
  },
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
};
