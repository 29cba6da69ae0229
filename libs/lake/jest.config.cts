module.exports = {
  displayName: 'lake',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/libs/lake',
};
