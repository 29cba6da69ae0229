const nxPreset = require('@nx/jest/preset').default;
const { join } = require('node:path');

const ESM_ONLY = ['@platformatic/kafka', '@platformatic/dynamic-buffer', '@platformatic/wasm-utils', 'jose'];

// Shared Jest settings of every project. Unit specs (`*.spec.ts`) run by `nx test <project>`;
// integration specs (`*.int-spec.ts`) by `nx int-test <project>` (see jest.int.preset.js).
module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
    // ES-module-only dependencies run as CommonJS under Jest (the apps load them natively on Node 24).
    [`node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`]: ['babel-jest', require('./tools/jest/esm-to-cjs.babel.js')],
  },
  transformIgnorePatterns: [`node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  reporters: ['default', [join(__dirname, 'tools/jest/summary-reporter.js'), { kind: 'unit' }]],
};
