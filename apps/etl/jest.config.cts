module.exports = {
  displayName: 'etl',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/apps/etl',
};
