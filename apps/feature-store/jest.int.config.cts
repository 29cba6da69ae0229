module.exports = {
  displayName: 'feature-store:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
