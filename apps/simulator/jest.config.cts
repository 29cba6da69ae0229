module.exports = {
  displayName: 'simulator',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  coverageDirectory: '../../coverage/apps/simulator',
};
