module.exports = {
  displayName: 'analytics:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
