module.exports = {
  displayName: 'experiments:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
