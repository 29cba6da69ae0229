module.exports = {
  displayName: 'feature-store',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/apps/feature-store',
};
