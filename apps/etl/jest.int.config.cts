module.exports = {
  displayName: 'etl:int',
  preset: '../../jest.int.preset.js',
  rootDir: __dirname,
};
