module.exports = {
  displayName: 'cdc',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/apps/cdc',
};
