module.exports = {
  displayName: 'experiments-assignment',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/libs/experiments',
};
