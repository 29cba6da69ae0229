module.exports = {
  displayName: 'logs',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/apps/logs',
};
