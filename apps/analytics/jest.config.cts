module.exports = {
  displayName: 'analytics',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/apps/analytics',
};
