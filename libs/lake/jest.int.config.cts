module.exports = {
  displayName: 'lake:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
