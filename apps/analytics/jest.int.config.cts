// The integration specs `nx int-test analytics` runs (and `./pulse test`): short ones, a few minutes in all.
// The long ones (`*-full.int-spec.ts`: every job of the pipeline, the slow failure cases) run by
// `nx run analytics:int-test-full` (jest.int-full.config.cts).
module.exports = {
  displayName: 'analytics:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
  testPathIgnorePatterns: ['/node_modules/', '-full\\.int-spec\\.ts$'],
};
