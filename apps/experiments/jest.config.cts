module.exports = {
  displayName: 'experiments',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/apps/experiments',
};
