module.exports = {
  displayName: 'console:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
