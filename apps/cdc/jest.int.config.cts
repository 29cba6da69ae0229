module.exports = {
  displayName: 'cdc:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
